using System.Diagnostics;

namespace Portal.Tests.Setup;

/// <summary>
/// The set-up scripts tested like code: they pass shellcheck, find or install PostgreSQL whatever is on the machine,
/// never end without saying what failed and what to do, and clean up only what this checkout left behind.
/// </summary>
public sealed class SetupScriptTests : IDisposable
{
    private readonly TempFolder _temp = new("portal-setup-");

    private string Portal => Path.Combine(TestEnvironment.RepositoryRoot, "portal");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Scripts_AreCleanUnderShellcheck()
    {
        // Every shell script of the repository: the two commands, CI's entry and whatever scripts/ and deploy/ hold.
        var scripts = new[] { "scripts", "deploy" }
            .Select(folder => Path.Combine(TestEnvironment.RepositoryRoot, folder))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
            .Where(file => file.EndsWith(".sh", StringComparison.Ordinal) || File.ReadLines(file).FirstOrDefault()?.StartsWith("#!/usr/bin/env bash", StringComparison.Ordinal) == true)
            .Select(file => Path.GetRelativePath(TestEnvironment.RepositoryRoot, file))
            .Prepend(".ci/run").Prepend("portal")
            .ToList();
        Shell.Result result;
        try
        {
            result = await Shell.RunAsync("shellcheck", ["-x", "--severity=style", .. scripts]);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("shellcheck is not installed: `./portal test` installs it (apt-get install shellcheck).");
        }

        Assert.True(result.ExitCode == 0, $"shellcheck found problems in {string.Join(", ", scripts)}:{Environment.NewLine}{result.Output}{result.Error}");
        Assert.Contains("scripts/mail-servers", scripts);
    }

    [Fact]
    public async Task TheServiceUnit_PassesSystemdsChecks_AndKeepsItsExposureLow()
    {
        var unit = Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "portal.service");

        var verified = await Shell.RunAsync("systemd-analyze", ["verify", unit]);
        // The hardening as systemd scores it (0 safest, 10 most exposed): the unit may not drift above 5.
        var security = await Shell.RunAsync("systemd-analyze", ["security", "--offline=true", "--threshold=50", unit]);

        Assert.True(verified.ExitCode == 0 && verified.Output.Length == 0 && verified.Error.Length == 0, verified.ToString());
        Assert.True(security.ExitCode == 0, security.ToString());
        Assert.Matches(@"Overall exposure level for portal\.service: [0-4]\.\d", security.Output);
        var lines = File.ReadAllLines(unit);
        Assert.Contains("Type=notify", lines);
        Assert.Contains("User=portal", lines);
        Assert.Contains("ProtectSystem=full", lines);
    }

    [Fact]
    public async Task PostgresDiscovery_WithNoPostgres_InstallsItFromDebiansPackages()
    {
        var lib = Directory.CreateDirectory(Path.Combine(_temp.Path, "lib")).FullName;
        var calls = Path.Combine(_temp.Path, "apt-calls");
        // Debian's package puts the server programs in <lib>/<major>/bin.
        FakeAptGet($"""
            echo "$*" >> {calls}
            case "$*" in *install*postgresql*) mkdir -p "$PORTAL_PG_LIB/16/bin" && printf '#!/bin/sh\n' > "$PORTAL_PG_LIB/16/bin/initdb" && chmod +x "$PORTAL_PG_LIB/16/bin/initdb" ;; esac
            """);

        var result = await PortalAsync(["pg", "install"], lib);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("install -y --no-install-recommends postgresql", File.ReadAllText(calls));
        Assert.Contains($"PostgreSQL's server programs: {lib}/16/bin", result.Error);
    }

    [Fact]
    public async Task PostgresDiscovery_WithPostgresInstalled_TakesTheNewestVersion_AndInstallsNothing()
    {
        var lib = Directory.CreateDirectory(Path.Combine(_temp.Path, "lib")).FullName;
        foreach (var version in new[] { "9.6", "13", "15" })
        {
            Directory.CreateDirectory(Path.Combine(lib, version, "bin"));
            Shell.WriteScript(Path.Combine(lib, version, "bin", "initdb"), "exit 0");
        }

        // A version folder without its server programs (a client-only package) does not count.
        Directory.CreateDirectory(Path.Combine(lib, "17", "bin"));
        var calls = Path.Combine(_temp.Path, "apt-calls");
        FakeAptGet($"echo \"$*\" >> {calls}; exit 1");

        var result = await PortalAsync(["pg", "install"], lib);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"PostgreSQL's server programs: {lib}/15/bin", result.Error);
        Assert.False(File.Exists(calls), "nothing is installed when PostgreSQL is there");
    }

    [Fact]
    public async Task PostgresDiscovery_WhenTheInstallFails_SaysWhatFailedAndWhatToDo()
    {
        var lib = Directory.CreateDirectory(Path.Combine(_temp.Path, "lib")).FullName;
        FakeAptGet("""[ "$1" = update ] && exit 0; echo "E: Unable to locate package postgresql" >&2; exit 100""");

        var result = await PortalAsync(["pg", "install"], lib);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("E: Unable to locate package postgresql", result.Error);
        Assert.Contains("apt-get could not install postgresql (exit status 100", result.Error);
        Assert.Contains("Check the network and the Debian mirror", result.Error);
    }

    [Fact]
    public async Task PostgresDiscovery_WhenThePackageBringsNoServer_SaysHowToGoOn()
    {
        var lib = Directory.CreateDirectory(Path.Combine(_temp.Path, "lib")).FullName;
        FakeAptGet("exit 0");

        var result = await PortalAsync(["pg", "install"], lib);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"PostgreSQL's server programs are not in {lib}/<version>/bin even after installing", result.Error);
        Assert.Contains("PORTAL_PG=", result.Error);
    }

    [Fact]
    public async Task AStepThatFails_PrintsTheCommand_ItsLine_TheStep_AndWhatToDo()
    {
        var lib = Directory.CreateDirectory(Path.Combine(_temp.Path, "lib", "15", "bin")).Parent!.Parent!.FullName;
        Shell.WriteScript(Path.Combine(lib, "15", "bin", "initdb"), "exit 0");
        // The clusters' folder would lie below a plain file: mkdir fails, as a full or read-only disk would make it.
        var file = Path.Combine(_temp.Path, "not-a-folder");
        File.WriteAllText(file, "");

        var result = await PortalAsync(["pg", "start", "test"], lib, new() { ["PORTAL_PG_ROOT"] = Path.Combine(file, "clusters"), ["PORTAL_PG_PORT"] = "1" });

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("portal: a step failed (exit status 1)", Plain(result.Error));
        Assert.Matches(@"command:\s+mkdir -p ""\$\(dirname ""\$dir""\)""", result.Error);
        Assert.Matches(@"where:\s+portal, line \d+", result.Error);
        Assert.Contains("step:     starting the local PostgreSQL cluster 'test'", result.Error);
        Assert.Contains("what to do:", result.Error);
    }

    [Fact]
    public async Task MailServers_AStepThatFails_IsReportedToo()
    {
        // A mail root that cannot be made: the script stops with the failing command and what to do.
        var file = Path.Combine(_temp.Path, "not-a-folder");
        File.WriteAllText(file, "");

        var result = await Shell.RunAsync(Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "mail-servers"), ["grant", Path.Combine(file, "mail")]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("mail-servers: a step failed", Plain(result.Error));
        Assert.Matches(@"where:\s+mail-servers, line \d+", result.Error);
        Assert.Contains("what to do: the file system of", result.Error);
    }

    [Fact]
    public async Task TestCleanup_StopsOnlyTheTestNodesThisCheckoutRecorded()
    {
        var pids = Directory.CreateDirectory(Path.Combine(_temp.Path, "pids")).FullName;
        using var ours = StartMarked("--PortalTestNode=ours");
        using var theirs = StartMarked("--PortalTestNode=theirs");
        using var unrelated = Process.Start("sleep", ["300"]);
        File.WriteAllText(Path.Combine(pids, ours.Id.ToString()), "");
        // A pid recorded once whose process is now something else (the pid was reused): not ours to stop.
        File.WriteAllText(Path.Combine(pids, unrelated.Id.ToString()), "");
        try
        {
            var result = await Shell.RunAsync(Portal, ["test-cleanup"], new Dictionary<string, string> { ["PORTAL_TEST_NODE_PIDS"] = pids });

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.True(ours.WaitForExit(10_000), "the recorded test node was stopped");
            Assert.False(theirs.HasExited, "another checkout's test node runs on");
            Assert.False(unrelated.HasExited, "a process that took over a recorded pid runs on");
            Assert.Empty(Directory.GetFiles(pids));
            Assert.Contains("Stopped 1 test node(s)", result.Error);
        }
        finally
        {
            foreach (var process in new[] { ours, theirs, unrelated })
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    /// <summary>A process whose command line carries the test nodes' marker (bash -c with the marker as its $0).</summary>
    private static Process StartMarked(string marker) => Process.Start("bash", ["-c", "sleep 300; true", marker]);

    private void FakeAptGet(string body)
    {
        var bin = Directory.CreateDirectory(Path.Combine(_temp.Path, "bin")).FullName;
        Shell.WriteScript(Path.Combine(bin, "apt-get"), body);
    }

    private Task<Shell.Result> PortalAsync(string[] args, string pgLib, Dictionary<string, string>? more = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["PORTAL_PG_LIB"] = pgLib,
            ["PATH"] = Path.Combine(_temp.Path, "bin") + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["PORTAL_STATE_DIR"] = Path.Combine(_temp.Path, "state"),
        };
        foreach (var (key, value) in more ?? [])
        {
            environment[key] = value;
        }

        return Shell.RunAsync(Portal, args, environment);
    }

    /// <summary>The text without the terminal colour codes.</summary>
    private static string Plain(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\x1b\[[0-9;]*m", "");
}
