using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Portal.Tests.Nodes;
using Portal.Tests.Support;

namespace Portal.Tests.MailServers;

/// <summary>
/// A parent and two mail children, each with its own Dovecot and Postfix on its own loopback address (standard ports),
/// and PowerDNS at the parent, all started by <c>scripts/mail-servers</c> (what the demo uses) and fed by the nodes.
/// </summary>
public sealed class MailServersFixture : IAsyncLifetime
{
    public const string ParentAddress = "127.0.0.22";
    public const string ChildAddress = "127.0.0.23";
    public const string SecondChildAddress = "127.0.0.24";

    private readonly string _folder = Path.Combine(TestEnvironment.RunFolder, "mail-servers");

    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Child { get; private set; } = default!;

    public string ChildId { get; private set; } = "";

    /// <summary>A second mail child, for moves from child to child.</summary>
    public PortalNode SecondChild { get; private set; } = default!;

    public string SecondChildId { get; private set; } = "";

    /// <summary>Where the parent's alerts go, through its own Postfix: a mailbox on the parent.</summary>
    public const string AlertsAddress = "ops@msalerts.example.test";

    public const string AlertsPassword = "ops-Kq7vZp3xWm9t-alerts";

    /// <summary>How many messages a mailbox may send through the parent in an hour (Portal:Mail:SendLimitPerHour).</summary>
    public const int SendLimitPerHour = 5;

    /// <summary>The zone of the nodes' panel host names, kept by the parent's DNS.</summary>
    public const string NodesZone = "nodes.mstest.example";

    /// <summary>Pebble, the test ACME server AutoSSL asks, checking DNS-01 against the parent's PowerDNS.</summary>
    public const string AcmeAddress = "127.0.0.51";

    private string AcmeFolder => Path.Combine(_folder, "acme-test-ca");

    /// <summary>The roots of the certificates Pebble issues (new at each start; only the tests trust them).</summary>
    public string AcmeRootPem => File.ReadAllText(Path.Combine(AcmeFolder, "root.pem"));

    public async Task InitializeAsync()
    {
        var parentSettings = await StartServersAsync("parent", ParentAddress, dns: true);
        var acme = await Shell.RunAsync(Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "acme-test-ca"), ["start", AcmeFolder, AcmeAddress, $"{ParentAddress}:53"], timeout: TimeSpan.FromMinutes(1));
        Assert.True(acme.ExitCode == 0, acme.ToString());
        parentSettings["Portal:Tls:Acme:DirectoryUrl"] = $"https://{AcmeAddress}:14000/dir";
        parentSettings["Portal:Tls:Acme:TrustedRootsFile"] = Path.Combine(AcmeFolder, "listener.pem");
        var childSettings = await StartServersAsync("child", ChildAddress, dns: false);
        var secondChildSettings = await StartServersAsync("child2", SecondChildAddress, dns: false);
        parentSettings["Portal:Dns:PublicIPv4"] = ParentAddress;
        parentSettings["Portal:Dns:NodesZone"] = NodesZone;
        parentSettings["Portal:Alerts:CheckInterval"] = "00:00:02";
        parentSettings["Portal:Alerts:SmtpServer"] = $"{ParentAddress}:25";
        parentSettings["Portal:Alerts:EmailTo:0"] = AlertsAddress;
        // Low enough for a test to reach: a mailbox sends 5 messages an hour through the parent.
        parentSettings["Portal:Mail:SendLimitPerHour"] = SendLimitPerHour.ToString(System.Globalization.CultureInfo.InvariantCulture);
        childSettings["Portal:Dns:PublicIPv4"] = ChildAddress;
        // The parent keeps a suspended account's mail (the default); the child refuses it, saying why.
        childSettings["Portal:Mail:SuspendedAccountMail"] = "Refuse";
        secondChildSettings["Portal:Dns:PublicIPv4"] = SecondChildAddress;
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("mparent", parentSettings), PortalNode.StartAsync("mchild", childSettings), PortalNode.StartAsync("mchild2", secondChildSettings));
        (Parent, Child, SecondChild) = (nodes[0], nodes[1], nodes[2]);
        foreach (var node in nodes)
        {
            // Dovecot works on the mail as its own user; the node writes it as root.
            await RunScriptAsync("grant", node.MailRoot);
        }

        foreach (var child in new[] { Child, SecondChild })
        {
            (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        }

        ChildId = (await LinkedNodesFixture.LinkAsync(Parent, Child, "mail-1")).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
        SecondChildId = (await LinkedNodesFixture.LinkAsync(Parent, SecondChild, "mail-2")).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
        (await Parent.Api.PostAsync("api/v1/accounts", new { username = "msalerts", domain = "msalerts.example.test", contactEmail = "o@msalerts.example.test" })).Expect(HttpStatusCode.Created);
        (await Parent.Api.PostAsync("api/v1/accounts/msalerts/mail/addresses", new { localPart = "ops", password = AlertsPassword })).Expect(HttpStatusCode.Created);
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(new[] { Parent, Child, SecondChild }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));
        foreach (var node in new[] { "parent", "child", "child2" })
        {
            await RunScriptAsync("stop", Path.Combine(_folder, node));
            await RunScriptAsync("webmail", "stop", Path.Combine(_folder, node, "webmail"));
        }

        await Shell.RunAsync(Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "acme-test-ca"), ["stop", AcmeFolder], timeout: TimeSpan.FromMinutes(1));
    }

    /// <summary>A local account with one mailbox; returns its name, domain, address and password.</summary>
    public async Task<(string Name, string Domain, string Address, string Password)> AccountAsync(string local = "alice")
    {
        var name = "ms" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        var password = $"{local}-Kq7vZp3xWm9t";
        (await Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
        (await Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = local, password })).Expect(HttpStatusCode.Created);
        return (name, domain, $"{local}@{domain}", password);
    }

    /// <summary>Changes the account's mail node (null: back to the parent) and waits until the move succeeded; its operation's id.</summary>
    public async Task<string> MoveAndWaitAsync(string account, string? nodeId)
    {
        var id = (await Parent.Api.PutAsync($"api/v1/accounts/{account}/mail-node", new { nodeId })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        var done = await Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed" or "Cancelled");
        Assert.True(done.GetProperty("state").GetString() == "Succeeded", $"{done}\n{(await Parent.Api.GetAsync($"api/v1/operations/{id}/log")).Text}");
        return id;
    }

    /// <summary>"Run AutoSSL now" for one account at the parent, as an operation; its end, which must be a success.</summary>
    public async Task<JsonElement> RunAutoSslAsync(string account)
    {
        var id = (await Parent.Api.PostAsync($"api/v1/ssl/run?account={account}")).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        var end = await Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed", TimeSpan.FromMinutes(2));
        Assert.True(end.GetProperty("state").GetString() == "Succeeded", $"the AutoSSL run ended {end}");
        return end;
    }

    /// <summary>The folder the parent's mail state is published to (and the mailboxes' homes are kept in).</summary>
    public string ParentMailState => Path.Combine(_folder, "parent", "mail-state");

    /// <summary>Stops the parent's PowerDNS, as a crash would.</summary>
    public async Task StopParentDnsAsync()
    {
        var pid = int.Parse(File.ReadAllText(Path.Combine(_folder, "parent", "pdns", "pdns.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        await process.WaitForExitAsync();
    }

    /// <summary>Starts the parent's servers again (PowerDNS keeps its zones).</summary>
    public Task RestartParentServersAsync() => StartServersAsync("parent", ParentAddress, dns: true);

    /// <summary>Stops a child's Dovecot and Postfix (<paramref name="node"/> "child" or "child2"), as a crash or an upgrade would.</summary>
    public Task StopMailServersAsync(string node) => RunScriptAsync("stop", Path.Combine(_folder, node));

    /// <summary>Starts a child's Dovecot and Postfix again, with their mail queue and state as they were.</summary>
    public Task StartMailServersAsync(string node) =>
        StartServersAsync(node, node == "child" ? ChildAddress : node == "child2" ? SecondChildAddress : throw new ArgumentException($"{node} is not a child", nameof(node)), dns: false);

    /// <summary>What the mail clients' Dovecot of a node ("parent", "child", "child2") logged so far.</summary>
    public string DovecotLog(string node) => File.ReadAllText(Path.Combine(_folder, node, "dovecot", "dovecot.log"));

    /// <summary>The name of a child's mail servers for <see cref="StopMailServersAsync"/>.</summary>
    public string MailServersOf(PortalNode child) => child == Child ? "child" : child == SecondChild ? "child2" : throw new ArgumentException($"{child.Name} is not a child", nameof(child));

    private async Task<Dictionary<string, string>> StartServersAsync(string node, string address, bool dns)
    {
        var folder = Path.Combine(_folder, node);
        var state = Path.Combine(folder, "mail-state");
        await RunScriptAsync("start", node, address, folder, state, dns ? "dns" : "");
        // The webmail (Roundcube behind nginx) on the same address, as the demo runs it.
        await RunScriptAsync("webmail", "start", node, address, Path.Combine(folder, "webmail"), state);
        return File.ReadAllLines(Path.Combine(folder, "settings")).Concat(File.ReadAllLines(Path.Combine(folder, "webmail", "settings")))
            .Select(line => line.Split('=', 2))
            .ToDictionary(kv => kv[0].Replace("__", ":", StringComparison.Ordinal), kv => kv[1]);
    }

    /// <summary>Runs scripts/mail-servers with <paramref name="args"/>, or another script when the first is "webmail".</summary>
    private static async Task RunScriptAsync(params string[] args)
    {
        var script = args[0] == "webmail" ? "webmail" : "mail-servers";
        args = script == "webmail" ? args[1..] : args;
        var start = new ProcessStartInfo(Path.Combine(TestEnvironment.RepositoryRoot, "scripts", script))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args.Where(a => a.Length > 0))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["MAIL_SERVERS_FAST_FAILURES"] = "1";
        // Postfix logs to syslog (dropped here): postlogd stopped taking messages under the chaos test's load, and
        // every postfix command then hung (see scripts/mail-servers).
        start.Environment["MAIL_SERVERS_POSTFIX_LOG"] = "0";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/{script} {string.Join(' ', args)} failed ({process.ExitCode}): {await output}{await error}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class MailServersCollection : ICollectionFixture<MailServersFixture>
{
    public const string Name = "Real mail and DNS servers behind a parent and a child";
}
