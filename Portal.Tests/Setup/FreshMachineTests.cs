using System.Diagnostics;
using System.Text;

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

    /// <summary>Where the installed node's Dovecot and Postfix listen (an address no other test uses).</summary>
    private const string MailAddress = "127.0.0.77";

    [Fact]
    public async Task TheDemoCommand_OnABareDebian_InstallsWhatItNeeds_RunsBothNodes_AndStopsEverything_ThenTheInstallRunsANodeAsItsOwnUser()
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
            // Both nodes answer before the demo has linked them; it says it is running once it has (on a busy machine
            // the link takes a while, and a question or a Ctrl-C before then tests something else).
            await WaitForOutputAsync(demo, output, "Portal is running", TimeSpan.FromMinutes(2));
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
            // A failure names what was still running. (A test run started in the background of a non-interactive shell
            // inherits SIGINT ignored, and a shell that starts with a signal ignored cannot trap it: the demo then never
            // sees this Ctrl-C. Run the tests in the foreground, as CI does.)
            if (!demo.WaitForExit(60_000))
            {
                var running = string.Join(Environment.NewLine, ProcessesInside(root).Select(p => p.Command));
                Assert.Fail($"the demo did not stop within 60 s; still running:{Environment.NewLine}{running}{Environment.NewLine}{output}");
            }

            var left = ProcessesInside(root).Where(p => !p.Command.Contains("VBCSCompiler", StringComparison.Ordinal) && !p.Command.Contains("MSBuild.dll", StringComparison.Ordinal)).ToList();
            Assert.True(left.Count == 0, $"the demo left processes running: {string.Join(Environment.NewLine, left)}");

            await InstallAndRunAsNodeUserAsync(root);
        }
        finally
        {
            var destroyed = await Shell.RunAsync(Script, ["destroy", root], timeout: TimeSpan.FromMinutes(2));
            Assert.True(destroyed.ExitCode == 0, destroyed.ToString());
            Assert.False(Directory.Exists(root));
        }
    }

    /// <summary>
    /// The production path on the same bare machine: <c>./portal install</c> (run twice: it must be repeatable), then
    /// the node started the way its systemd unit says (user, settings file, command; this root runs no systemd), with
    /// the mail servers it configured, until it is ready: database over the Unix socket as its own user, job server,
    /// Dovecot and Postfix asked through sudo.
    /// </summary>
    private static async Task InstallAndRunAsNodeUserAsync(string root)
    {
        var (http, https, pg) = (PortalNode.FreePort(), PortalNode.FreePort(), PortalNode.FreePort());
        string[] install = ["run", root, "./portal", "install", "--name", "fresh", "--public-ip", MailAddress, "--mail-address", MailAddress, "--webmail",
            "--http-port", http.ToString(), "--https-port", https.ToString(), "--pg-port", pg.ToString(), "--no-start"];
        foreach (var attempt in new[] { "first", "second" })
        {
            var installed = await Shell.RunAsync(Script, install, timeout: TimeSpan.FromMinutes(10));
            Assert.True(installed.ExitCode == 0, $"the {attempt} install failed: {installed}");
        }

        var unit = File.ReadAllLines(Path.Combine(root, "etc/systemd/system/portal.service"));
        string Setting(string key) => unit.Single(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];
        var user = Setting("User");
        Assert.Equal("portal", user);
        var settings = File.ReadAllLines(Path.Combine(root, Setting("EnvironmentFile").TrimStart('/'))).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.DoesNotContain(settings, l => l.Contains("Password", StringComparison.OrdinalIgnoreCase) && !l.Contains("PasswordFile", StringComparison.Ordinal));

        // What systemd would start before the node (its mail servers, the webmail's php-fpm and nginx, each as its unit
        // says), with nothing of theirs on the test's pipes.
        string UnitLine(string unitName, string key) =>
            File.ReadAllLines(Path.Combine(root, "etc/systemd/system", unitName)).Single(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];
        var webmail = $"{UnitLine("portal-webmail-php.service", "ExecStartPre")} && ({UnitLine("portal-webmail-php.service", "ExecStart")} </dev/null >/dev/null 2>&1 &) && sleep 2 && {UnitLine("portal-webmail.service", "ExecStart")} </dev/null >/dev/null 2>&1";
        var servers = await Shell.RunAsync(Script, ["run", root, "bash", "-c", $"dovecot </dev/null >/dev/null 2>&1 && postfix start </dev/null >/dev/null 2>&1 && {webmail}"]);
        Assert.True(servers.ExitCode == 0, servers.ToString());
        Assert.Contains("Portal__Mail__NginxConfig=/var/lib/portal/webmail/nginx.conf", settings);

        var output = new StringBuilder();
        using var node = StartInside(root, output, new(), ["runuser", "-u", user, "--", "env", $"HOME=/var/lib/portal", .. settings, .. Setting("ExecStart").Split(' ')]);
        using var http_ = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{http}/"), Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        HttpResponseMessage? ready = null;
        while (ready?.StatusCode != HttpStatusCode.OK)
        {
            Assert.False(node.HasExited, $"the installed node stopped:{Environment.NewLine}{output}");
            Assert.True(DateTime.UtcNow < deadline, $"the installed node was not ready within 2 minutes: {(ready is null ? "no answer" : await ready.Content.ReadAsStringAsync())}{Environment.NewLine}{output}");
            await Task.Delay(1000);
            try
            {
                ready = await http_.GetAsync("healthz/ready");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
        }

        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.Equal(["database", "dovecot", "jobs", "postfix"], checks.EnumerateObject().Select(c => c.Name).Order());
        // Plain HTTP goes to HTTPS, served with the certificate the install made.
        var redirect = await http_.GetAsync("auth/signin");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        Assert.Equal($"https://127.0.0.1:{https}/auth/signin", redirect.Headers.Location!.ToString());

        // The webmail answers on 443 of the mail address with Roundcube's sign-in (the panel moved to its own ports).
        using (var webmailClient = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator }) { Timeout = TimeSpan.FromSeconds(20) })
        {
            var signIn = await webmailClient.GetAsync($"https://{MailAddress}/");
            var page = await signIn.Content.ReadAsStringAsync();
            Assert.True(signIn.StatusCode == HttpStatusCode.OK && page.Contains("rcmloginuser", StringComparison.Ordinal), $"the webmail answered {signIn.StatusCode}: {page[..Math.Min(page.Length, 500)]}");
        }

        // The node runs as its own user, never root.
        var portalUid = File.ReadAllLines(Path.Combine(root, "etc/passwd")).Single(l => l.StartsWith("portal:", StringComparison.Ordinal)).Split(':')[2];
        // (runuser itself stays, as root, to close the session: the node is the process it started.)
        var running = ProcessesInside(root).Single(p => p.Command.StartsWith("/usr/bin/dotnet /opt/portal/app/Portal.dll", StringComparison.Ordinal));
        Assert.Equal(portalUid, running.Uid);
        Assert.NotEqual("0", portalUid);
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

    private static async Task WaitForOutputAsync(Process command, StringBuilder output, string line, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            string text;
            lock (output)
            {
                text = output.ToString();
            }

            if (text.Contains(line, StringComparison.Ordinal))
            {
                return;
            }

            Assert.False(command.HasExited, $"the command ended (exit {(command.HasExited ? command.ExitCode : 0)}) before it said \"{line}\":{Environment.NewLine}{text}");
            Assert.True(DateTime.UtcNow < deadline, $"the command did not say \"{line}\" within {limit}:{Environment.NewLine}{text}");
            await Task.Delay(200);
        }
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

    /// <summary>The command lines (and real user ids) of the processes whose root folder is <paramref name="root"/>.</summary>
    private static List<(string Command, string Uid)> ProcessesInside(string root)
    {
        var found = new List<(string, string)>();
        foreach (var dir in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                if (new DirectoryInfo(Path.Combine(dir, "root")).LinkTarget == root)
                {
                    var uid = File.ReadLines(Path.Combine(dir, "status")).First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];
                    found.Add((File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '), uid));
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
