using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Portal.Tests.Support;

namespace Portal.Tests.Setup;

/// <summary>
/// The README's promise, checked on a bare Debian 12 (a debootstrap root with only what the .NET SDK needs, the SDK
/// bind-mounted): the demo command installs PostgreSQL itself, builds Portal from an empty NuGet cache and runs both
/// nodes until they answer, and Ctrl-C leaves nothing running. CI's machine has PostgreSQL already, so without this
/// test nothing would notice a set-up step that only works where it was written.
/// </summary>
[Collection(FreshMachineCollection.Name)]
[Trait("Category", "FreshMachine")]
public sealed class FreshMachineTests
{
    private static readonly string Script = Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "fresh-machine");

    [Fact]
    public async Task TheDemoCommand_OnABareDebian_InstallsWhatItNeeds_RunsBothNodes_AndStopsEverything()
    {
        var root = $"/var/tmp/portal-fresh-{Guid.NewGuid():N}"[..31];
        var cache = Environment.GetEnvironmentVariable("PORTAL_FRESH_CACHE") ?? "/var/tmp/portal-fresh-cache/bookworm-minbase.tar";
        try
        {
            var created = await Shell.RunAsync(Script, ["create", root], new Dictionary<string, string> { ["PORTAL_FRESH_CACHE"] = cache }, TimeSpan.FromMinutes(8));
            Assert.True(created.ExitCode == 0, $"the bare root could not be made: {created}");
            Assert.False(Directory.Exists(Path.Combine(root, "usr/lib/postgresql")), "the bare root has no PostgreSQL");
            Assert.False(File.Exists(Path.Combine(root, "usr/bin/chromium")), "the bare root has no Chromium");

            var (parentPort, childPort, pgPort) = (PortalNode.FreePort(), PortalNode.FreePort(), PortalNode.FreePort());
            var output = new StringBuilder();
            using var demo = StartInside(root, output, new()
            {
                ["PORTAL_PARENT_PORT"] = parentPort.ToString(),
                ["PORTAL_CHILD_PORT"] = childPort.ToString(),
                ["PORTAL_PG_PORT"] = pgPort.ToString(),
            }, "./portal", "demo");

            await WaitHealthyAsync(demo, output, parentPort, childPort, TimeSpan.FromMinutes(12));
            Assert.Contains("Installing from Debian's packages: postgresql", output.ToString());
            Assert.True(File.Exists(Path.Combine(root, "usr/lib/postgresql/15/bin/initdb")), "the demo installed PostgreSQL's server");

            // The demo links its child to its parent: the child names its parent.
            using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{childPort}/") })
            {
                var token = File.ReadAllText(Path.Combine(root, "work/portal/.portal/demo/child/secrets/admin-api-token")).Trim();
                http.DefaultRequestHeaders.Authorization = new("Bearer", token);
                var node = JsonDocument.Parse(await http.GetStringAsync("api/v1/node")).RootElement;
                Assert.Equal(JsonValueKind.Object, node.GetProperty("parent").ValueKind);
            }

            // Ctrl-C (the demo takes SIGTERM the same way) stops the nodes and the PostgreSQL it started.
            Process.Start("kill", ["-INT", demo.Id.ToString()])!.WaitForExit();
            Assert.True(demo.WaitForExit(60_000), $"the demo did not stop within 60 s:{Environment.NewLine}{output}");
            var left = ProcessesInside(root).Where(p => !p.Contains("VBCSCompiler", StringComparison.Ordinal) && !p.Contains("MSBuild.dll", StringComparison.Ordinal)).ToList();
            Assert.True(left.Count == 0, $"the demo left processes running: {string.Join(Environment.NewLine, left)}");
        }
        finally
        {
            var destroyed = await Shell.RunAsync(Script, ["destroy", root], timeout: TimeSpan.FromMinutes(2));
            Assert.True(destroyed.ExitCode == 0, destroyed.ToString());
            Assert.False(Directory.Exists(root));
        }
    }

    private static Process StartInside(string root, StringBuilder output, Dictionary<string, string> environment, params string[] command)
    {
        var start = new ProcessStartInfo(Script) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "run", root }.Concat(command))
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(Process command, StringBuilder output, int parentPort, int childPort, TimeSpan limit)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + limit;
        var healthy = new HashSet<int>();
        while (healthy.Count < 2)
        {
            Assert.False(command.HasExited, $"the command ended (exit {(command.HasExited ? command.ExitCode : 0)}) before both nodes answered:{Environment.NewLine}{output}");
            Assert.True(DateTime.UtcNow < deadline, $"the nodes did not answer /healthz within {limit}:{Environment.NewLine}{output}");
            foreach (var port in new[] { parentPort, childPort }.Where(p => !healthy.Contains(p)))
            {
                try
                {
                    if ((await http.GetAsync($"http://127.0.0.1:{port}/healthz")).StatusCode == HttpStatusCode.OK)
                    {
                        healthy.Add(port);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Not up yet.
                }
            }

            await Task.Delay(1000);
        }
    }

    /// <summary>The command lines of the processes whose root folder is <paramref name="root"/>.</summary>
    private static List<string> ProcessesInside(string root)
    {
        var found = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                if (new DirectoryInfo(Path.Combine(dir, "root")).LinkTarget == root)
                {
                    found.Add(File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }
}

/// <summary>The fresh-machine tests run alone, after the others: a build from an empty cache wants both cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FreshMachineCollection
{
    public const string Name = "A bare Debian 12 machine";
}
