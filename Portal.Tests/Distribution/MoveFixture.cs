namespace Portal.Tests.Distribution;

/// <summary>
/// A parent with six mail children, each a process: a plain one, one that damages the first files it receives, one
/// that damages every file, one that reports almost no free disk, one whose mail archives get damaged, and one whose
/// mail lives on a 4 MiB filesystem while it reports 1 GiB free (a disk that fills up during a copy). The parent
/// sends small batches (so a test can pause a copy in the middle), takes over a dead server's jobs after ten seconds,
/// reports 40 MiB free for its own mail (so a large dedistribution does not fit), and keeps a child's copy of a
/// dedistributed account for 30 seconds. A second parent takes accounts transferred from the first.
/// </summary>
public sealed class MoveFixture : IAsyncLifetime
{
    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Mail { get; private set; } = default!;

    public PortalNode Flaky { get; private set; } = default!;

    public PortalNode Broken { get; private set; } = default!;

    public PortalNode Tiny { get; private set; } = default!;

    public PortalNode Decay { get; private set; } = default!;

    /// <summary>A child whose mail disk fills up: 4 MiB of tmpfs, reported as 1 GiB free.</summary>
    public PortalNode Full { get; private set; } = default!;

    private readonly string _fullDisk = Path.Combine(TestEnvironment.RunFolder, "full-disk");

    /// <summary>Another parent, with no children: accounts are transferred from <see cref="Parent"/> to it.</summary>
    public PortalNode Other { get; private set; } = default!;

    public static readonly TimeSpan Retention = TimeSpan.FromSeconds(30);

    public Dictionary<PortalNode, string> NodeIds { get; } = [];

    /// <summary>The node token the parent linked each child with: the only one that acts as the parent there.</summary>
    public Dictionary<PortalNode, string> ParentTokens { get; } = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_fullDisk);
        var mounted = await Shell.RunAsync("mount", ["-t", "tmpfs", "-o", "size=4m", "portal-test-full-disk", _fullDisk]);
        Assert.True(mounted.ExitCode == 0, $"A 4 MiB tmpfs for the full-disk child could not be mounted (the tests run as root): {mounted}");
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("parent", new Dictionary<string, string>
            {
                ["Portal:Dns:PublicIPv4"] = "127.0.0.30",
                ["Portal:Distribution:BatchFiles"] = "150",
                ["Portal:Distribution:RetryWindow"] = "00:01:30",
                ["Portal:Jobs:SchedulePollInterval"] = "00:00:01",
                ["Portal:Development:ReportedMailFreeBytes"] = (40L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Portal:Distribution:ChildAccountRetention"] = Retention.ToString(),
            }),
            PortalNode.StartAsync("mail", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.31" }),
            PortalNode.StartAsync("flaky", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.32", ["Portal:Development:CorruptReceivedMailFiles"] = "3" }),
            PortalNode.StartAsync("broken", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.33", ["Portal:Development:CorruptReceivedMailFiles"] = "1000" }),
            PortalNode.StartAsync("tiny", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.34", ["Portal:Development:ReportedMailFreeBytes"] = "1048576" }),
            PortalNode.StartAsync("decay", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.35", ["Portal:Development:CorruptMailArchives"] = "true" }),
            PortalNode.StartAsync("full", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.36", ["Portal:MailRoot"] = _fullDisk, ["Portal:Development:ReportedMailFreeBytes"] = (1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture) }),
            PortalNode.StartAsync("other", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.40" }));
        (Parent, Mail, Flaky, Broken, Tiny, Decay, Full, Other) = (nodes[0], nodes[1], nodes[2], nodes[3], nodes[4], nodes[5], nodes[6], nodes[7]);
        foreach (var child in nodes.Skip(1).SkipLast(1))
        {
            (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
            ParentTokens[child] = await LinkedNodesFixture.NodeTokenAsync(child);
            NodeIds[child] = (await LinkedNodesFixture.LinkAsync(Parent, child, child.Name, ParentTokens[child])).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(new[] { Parent, Mail, Flaky, Broken, Tiny, Decay, Full, Other }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));
        await Shell.RunAsync("umount", [_fullDisk]);
    }

    /// <summary>Where the <see cref="Full"/> child keeps its mail.</summary>
    public string FullDisk => _fullDisk;

    /// <summary>A local account with mailboxes filled with generated mail; returns its name, domain and mailbox paths.</summary>
    public async Task<(string Name, string Domain, Dictionary<string, string> Mailboxes)> AccountWithMailAsync(int messages, string[]? localParts = null, bool ipv6 = false, string[]? features = null)
    {
        var name = "mv" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        (await Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}", ipv6Enabled = ipv6, features })).Expect(HttpStatusCode.Created);
        var mailboxes = new Dictionary<string, string>();
        var generator = new MailGenerator(name.GetHashCode());
        localParts ??= ["alice", "bob"];
        foreach (var (local, i) in localParts.Select((l, i) => (l, i)))
        {
            (await Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = local, password = $"{local}-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
            var path = Path.Combine(Parent.MailRoot, domain, local);
            generator.Fill(path, i == 0 ? messages * 2 / 3 : messages / Math.Max(1, localParts.Length - 1) / 3 + 1);
            mailboxes[local] = path;
        }

        return (name, domain, mailboxes);
    }

    public async Task<string> StartMoveAsync(string account, PortalNode target)
    {
        var started = (await Parent.Api.PutAsync($"api/v1/accounts/{account}/mail-node", new { nodeId = NodeIds[target] })).Expect(HttpStatusCode.Accepted);
        return started.Body.GetProperty("operationId").GetString()!;
    }

    /// <summary>Starts bringing the account's mail back to the parent (dedistribution).</summary>
    public async Task<string> StartReturnAsync(string account)
    {
        var started = (await Parent.Api.PutAsync($"api/v1/accounts/{account}/mail-node", new { nodeId = (string?)null })).Expect(HttpStatusCode.Accepted);
        return started.Body.GetProperty("operationId").GetString()!;
    }

    /// <summary>Moves the account's mail to the child and waits until the move succeeded.</summary>
    public async Task MoveAndWaitAsync(string account, PortalNode target)
    {
        var done = await WaitFinishedAsync(await StartMoveAsync(account, target));
        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
    }

    /// <summary>The scheduled deletions of an account's copies (all states).</summary>
    public async Task<List<JsonElement>> DeletionsAsync(string account) =>
        (await Parent.Api.GetAsync("api/v1/scheduled-deletions?all=true")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
            .Where(d => d.GetProperty("username").GetString() == account).ToList();

    public async Task<JsonElement> OperationAsync(string id) => (await Parent.Api.GetAsync($"api/v1/operations/{id}")).Expect(HttpStatusCode.OK).Body;

    /// <summary>Polls the operation until the condition holds (or fails with the operation's state and log).</summary>
    public Task<JsonElement> WaitAsync(string id, Func<JsonElement, bool> condition, TimeSpan? timeout = null) =>
        Parent.Api.WaitOperationAsync(id, condition, timeout);

    public Task<JsonElement> WaitFinishedAsync(string id, TimeSpan? timeout = null) =>
        WaitAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed", timeout);

    /// <summary>
    /// Pauses a move in its bulk copy and waits until it stands still there. The pause is asked for at once, before
    /// the job reaches the copy: the copy honours it before its first batch (or between batches, if the job got
    /// there first). Asking once the step read "bulk" lost the race on CI: 3,001 messages were copied in 0.64 s and
    /// the move had passed its last pause point, before the switch, when the request arrived.
    /// </summary>
    public async Task PauseInBulkAsync(string id)
    {
        var asked = await Parent.Api.PostAsync($"api/v1/operations/{id}/pause");
        // An operation that ended before the pause could be asked for: say how (once, on CI, it had ended within 1 s).
        Assert.True(asked.Status == HttpStatusCode.NoContent, $"The pause was refused ({asked.Text}); the operation: {await OperationAsync(id)}");
        var paused = await WaitAsync(id, o => o.GetProperty("state").GetString() is "Paused" or "Succeeded" or "Failed");
        Assert.True(paused.GetProperty("state").GetString() == "Paused", $"The move did not stand still in its bulk copy: {paused}");
        Assert.Equal("bulk", paused.GetProperty("currentStep").GetString());
    }

    public async Task ResumeAsync(string id) => (await Parent.Api.PostAsync($"api/v1/operations/{id}/resume")).Expect(HttpStatusCode.NoContent);
}

[CollectionDefinition(Name)]
public sealed class MoveCollection : ICollectionFixture<MoveFixture>
{
    public const string Name = "Mail moves (a parent, five mail children, another parent)";
}
