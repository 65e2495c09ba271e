namespace Portal.E2E.Support;

/// <summary>
/// A parent and a linked mail child, each with its real Dovecot, Postfix and webmail (Roundcube behind nginx), started
/// by scripts/mail-servers and scripts/webmail as the demo starts them, and a Chromium that resolves every
/// webmail.&lt;domain&gt; to the child, as DNS does once an account's mail is there.
/// </summary>
public sealed class WebmailBrowserFixture : NodesBrowserFixture
{
    public const string ParentAddress = "127.0.0.26";
    public const string ChildAddress = "127.0.0.27";

    private readonly string _folder = Path.Combine(TestEnvironment.RunFolder, "webmail-e2e");

    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Child { get; private set; } = default!;

    public string ChildId { get; private set; } = "";

    protected override string[] BrowserArgs => [$"--host-resolver-rules=MAP webmail.* {ChildAddress}"];

    protected override async Task<PortalNode[]> StartNodesAsync()
    {
        var parentSettings = await StartServersAsync("parent", ParentAddress);
        var childSettings = await StartServersAsync("child", ChildAddress);
        parentSettings["Portal:Dns:PublicIPv4"] = ParentAddress;
        childSettings["Portal:Dns:PublicIPv4"] = ChildAddress;
        var nodes = await Task.WhenAll(PortalNode.StartAsync("wparent", parentSettings), PortalNode.StartAsync("wchild", childSettings));
        (Parent, Child) = (nodes[0], nodes[1]);
        return nodes;
    }

    protected override async Task PrepareAsync()
    {
        foreach (var node in new[] { Parent, Child })
        {
            // Dovecot works on the mail as its own user; the node writes it as root.
            await ScriptAsync("mail-servers", "grant", node.MailRoot);
        }

        ChildId = await LinkMailChildAsync(Parent, Child);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var node in new[] { "parent", "child" })
        {
            await ScriptAsync("webmail", "stop", Path.Combine(_folder, node, "webmail"));
            await ScriptAsync("mail-servers", "stop", Path.Combine(_folder, node));
        }
    }

    /// <summary>
    /// A fresh browser profile pointed at <paramref name="node"/>. The webmail presents the child's own certificate here
    /// (no AutoSSL in this set-up; the certificate for webmail.&lt;domain&gt; is checked by WebmailServerTests).
    /// </summary>
    public override async Task<IPage> NewPageAsync(PortalNode node)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = node.HostUrl.ToString(),
            ViewportSize = new ViewportSize { Width = 1366, Height = 900 },
            IgnoreHTTPSErrors = true,
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    private async Task<Dictionary<string, string>> StartServersAsync(string node, string address)
    {
        var folder = Path.Combine(_folder, node);
        var state = Path.Combine(folder, "mail-state");
        await ScriptAsync("mail-servers", "start", node, address, folder, state);
        await ScriptAsync("webmail", "start", node, address, Path.Combine(folder, "webmail"), state);
        return File.ReadAllLines(Path.Combine(folder, "settings")).Concat(File.ReadAllLines(Path.Combine(folder, "webmail", "settings")))
            .Select(line => line.Split('=', 2))
            .ToDictionary(kv => kv[0].Replace("__", ":", StringComparison.Ordinal), kv => kv[1]);
    }

    private static async Task ScriptAsync(string script, params string[] args)
    {
        var result = await Shell.RunAsync(Path.Combine(TestEnvironment.RepositoryRoot, "scripts", script), args,
            new Dictionary<string, string> { ["MAIL_SERVERS_FAST_FAILURES"] = "1", ["MAIL_SERVERS_POSTFIX_LOG"] = "0" }, TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"scripts/{script} {string.Join(' ', args)}: {result}");
    }
}

[CollectionDefinition(Name)]
public sealed class WebmailBrowserCollection : ICollectionFixture<WebmailBrowserFixture>
{
    public const string Name = "Browser against a parent and a mail child with their real mail servers and webmail";
}
