using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Portal.Tests.Support;

/// <summary>
/// A Portal node running as its own process (the built Portal.dll), with its own database, port, mail root and job
/// server: what production runs, and what keeps two nodes in one test truly apart (Hangfire keeps static state).
/// </summary>
public sealed partial class PortalNode : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly Dictionary<string, string> _settings;
    private readonly string _logPath;
    private Process? _process;
    private TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PortalNode(string name, string connectionString, string folder, Dictionary<string, string> settings)
    {
        Name = name;
        ConnectionString = connectionString;
        Folder = folder;
        MailRoot = Path.Combine(folder, "mail");
        AdminPasswordFile = Path.Combine(folder, "admin-password");
        AdminApiTokenFile = Path.Combine(folder, "admin-api-token");
        _settings = settings;
        _logPath = Path.Combine(folder, "node.log");
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public string Folder { get; }

    public string MailRoot { get; }

    public string AdminPasswordFile { get; }

    public string AdminApiTokenFile { get; }

    /// <summary>The node's public API as its first admin (the bootstrap API token).</summary>
    public PortalApi Api => _api ??= new PortalApi(BaseUrl, File.ReadAllText(AdminApiTokenFile).Trim());

    private PortalApi? _api;

    public const string AdminUserName = "admin";

    public string AdminPassword => File.ReadAllText(AdminPasswordFile).Trim();

    public int Port { get; private set; }

    /// <summary>The node's address for HTTP clients in the tests.</summary>
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    /// <summary>The node's address by host name (what an admin types when linking nodes).</summary>
    public Uri HostUrl => new($"http://localhost:{Port}/");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The node's process id while it runs (benchmarks read its memory from /proc).</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Starts a node on a fresh database.</summary>
    public static async Task<PortalNode> StartAsync(string name, IDictionary<string, string>? settings = null, string? connectionString = null)
    {
        connectionString ??= await TestDatabases.CreateAsync($"node {name}");
        var folder = Path.Combine(TestEnvironment.RunFolder, "nodes", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(folder);
        var node = new PortalNode(name, connectionString, folder, new Dictionary<string, string>(settings ?? new Dictionary<string, string>()));
        // The port is chosen before the start, so the node can be told its own public URL. A port can still be taken
        // between the choice and the bind (by another program); then the node starts again on another one.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await node.LaunchAsync(FreePort());
                return node;
            }
            catch (InvalidOperationException ex) when (attempt < 5 && ex.Message.Contains("address already in use", StringComparison.Ordinal))
            {
                await node.KillAsync();
            }
        }
    }

    /// <summary>Starts the node's process again, on the same port and database (after a stop or a kill).</summary>
    public Task RestartAsync() => LaunchAsync(Port);

    /// <summary>Stops the node the way a service manager does (SIGTERM), letting it finish cleanly.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Ends the node's process at once (SIGKILL), as a crash or a power cut would.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>What the node printed last, for failure messages.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _tail);

    private async Task LaunchAsync(int port)
    {
        _listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The marker argument is inert configuration; with the pid recorded in this checkout's folder it lets
        // `./portal test` (and a person with ps) find test nodes an aborted run left behind, and only those.
        var start = new ProcessStartInfo("dotnet", [TestEnvironment.PortalDll, $"--PortalTestNode={Name}"])
        {
            WorkingDirectory = Path.GetDirectoryName(TestEnvironment.PortalDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var env = start.Environment;
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        env["DOTNET_gcServer"] = "0";
        env["ConnectionStrings__Portal"] = ConnectionString;
        env["Portal__NodeName"] = Name;
        env["Portal__PublicUrl"] = $"http://localhost:{port}";
        env["Portal__MailRoot"] = MailRoot;
        env["Portal__AllowInsecureHttp"] = "true";
        env["Portal__Bootstrap__AdminUserName"] = AdminUserName;
        env["Portal__Bootstrap__AdminPasswordFile"] = AdminPasswordFile;
        env["Portal__Bootstrap__AdminApiTokenFile"] = AdminApiTokenFile;
        env["Portal__Jobs__QueuePollInterval"] = "00:00:01";
        env["Portal__SelfCheck__DiskProbeBytes"] = (8 * 1024 * 1024).ToString();
        // Tests poll the API and sign in far faster than anyone should; the rate limit tests set their own limits.
        env["Portal__Security__ApiRequestsPerMinutePerToken"] = "1000000";
        env["Portal__Security__ApiRequestsPerMinutePerAddress"] = "1000000";
        env["Portal__Security__SignInAttemptsPerMinutePerAddress"] = "100000";
        env["Portal__Security__SignInAttemptsPerMinutePerUserName"] = "100000";
        foreach (var (key, value) in _settings)
        {
            // "{port}" in a setting is the node's HTTP port (ASPNETCORE_URLS with an https:// address beside it, say).
            env[key.Replace(":", "__")] = value.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => OnOutput(e.Data);
        process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"Node {Name} exited with code {SafeExitCode(process)} while starting:{Environment.NewLine}{RecentOutput}"));
        if (!File.Exists(TestEnvironment.PortalDll))
        {
            throw new InvalidOperationException($"{TestEnvironment.PortalDll} is missing: build the solution ({TestEnvironment.BuildConfiguration}) first.");
        }

        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        RecordPid(process);

        var started = await _listening.Task.WaitAsync(TimeSpan.FromSeconds(90));
        Port = new Uri(started).Port;
        await WaitHealthyAsync();
    }

    private async Task WaitHealthyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(20) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var response = await http.GetAsync("healthz");
                // Healthy, job server included: only then are jobs enqueued by a test picked up at once.
                if (response.IsSuccessStatusCode
                    && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString() == "Healthy")
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or slow to answer its first request on a busy machine.
            }

            if (!IsRunning)
            {
                throw new InvalidOperationException($"Node {Name} stopped while starting:{Environment.NewLine}{RecentOutput}");
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Node {Name} did not become healthy within 90 s:{Environment.NewLine}{RecentOutput}");
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            File.AppendAllText(_logPath, line + Environment.NewLine);
        }

        _tail.Enqueue(line);
        while (_tail.Count > 200)
        {
            _tail.TryDequeue(out _);
        }

        if (ListeningPattern().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(match.Groups[1].Value);
        }
    }

    // Ports handed out by this test process, so two nodes starting at once never get the same one.
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>
    /// A free port below Linux's ephemeral range (32768-60999). A port the kernel hands out for a listener on port 0
    /// comes from that range, and so do the source ports of outgoing connections: between the choice and the node's
    /// bind, a connection to PostgreSQL or to another node could take it (CI saw "address already in use").
    /// </summary>
    internal static int FreePort()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(20000, 32000);
            if (!HandedOut.TryAdd(port, true))
            {
                continue;
            }

            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // In use by something else; try another.
            }
        }

        throw new InvalidOperationException("No free port between 20000 and 32000 on loopback.");
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString();
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    /// <summary>Where the running test nodes of this checkout are recorded (one empty file per pid).</summary>
    private static string PidFolder => Environment.GetEnvironmentVariable("PORTAL_TEST_NODE_PIDS") is { Length: > 0 } folder
        ? folder
        : Path.Combine(TestEnvironment.RepositoryRoot, ".portal", "test-nodes");

    private static void RecordPid(Process process)
    {
        var file = Path.Combine(PidFolder, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(PidFolder);
        File.WriteAllText(file, "");
        process.Exited += (_, _) => File.Delete(file);
    }

    [GeneratedRegex(@"Now listening on: (http://[0-9.]+:\d+)")]
    private static partial Regex ListeningPattern();

    public async ValueTask DisposeAsync()
    {
        _api?.Dispose();
        await KillAsync();
        _process?.Dispose();
        await TestDatabases.DropAsync(ConnectionString);
    }
}
