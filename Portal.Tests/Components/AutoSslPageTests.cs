using Bunit;
using Portal.Areas.Admin;

namespace Portal.Tests.Components;

/// <summary>
/// The AutoSSL page: each account's certificate with its state, issuer and end, and for one whose last attempt failed
/// the reason and when it is tried again; with AutoSSL off, what to set.
/// </summary>
public sealed class AutoSslPageTests : ComponentTestContext
{
    [Fact]
    public async Task EachAccountsCertificate_IsShownWithItsState_AndAFailedOneSaysWhyAndWhenItIsTriedAgain()
    {
        AddServices("https://acme.example.test/directory");
        var (valid, failed, pending) = (await AccountAsync(), await AccountAsync(), await AccountAsync());
        await using (var db = OpenDb())
        {
            var ids = db.Accounts.Where(a => a.Username == valid || a.Username == failed).ToDictionary(a => a.Username, a => a.Id);
            db.TlsCertificates.Add(new TlsCertificate
            {
                AccountId = ids[valid], Names = ["a"], ChainPem = "-----BEGIN CERTIFICATE-----", Issuer = "CN=Test Intermediate",
                NotBefore = DateTimeOffset.UtcNow.AddDays(-1), NotAfter = DateTimeOffset.UtcNow.AddDays(80), LastAttemptAt = DateTimeOffset.UtcNow.AddDays(-1),
            });
            db.TlsCertificates.Add(new TlsCertificate
            {
                AccountId = ids[failed], Names = ["b"], LastAttemptAt = DateTimeOffset.UtcNow, Failures = 1,
                LastError = "The certificate authority refused mail.b.example.test: no TXT record found", NextAttemptAt = DateTimeOffset.UtcNow.AddHours(1),
            });
            await db.SaveChangesAsync();
        }

        var cut = Render<AutoSslPage>();

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=certificate-account]").Count), Patience);
        string StateOf(string name) => cut.FindAll("tr").Single(r => r.QuerySelector("[data-testid=certificate-account]")?.TextContent.Trim() == name)
            .QuerySelector("[data-testid=certificate-state]")!.GetAttribute("data-state")!;
        Assert.Equal("Valid", StateOf(valid));
        Assert.Equal("Failed", StateOf(failed));
        Assert.Equal("Pending", StateOf(pending));
        Assert.Contains("CN=Test Intermediate", cut.Markup);
        var error = Assert.Single(cut.FindAll("[data-testid=certificate-error]"));
        Assert.Contains("no TXT record found", error.TextContent);
        Assert.Contains("Tried again after", cut.Markup);
        Assert.Single(cut.FindAll("[data-testid=autossl-run]"));
        Assert.Equal(3, cut.FindAll("[data-testid=certificate-run]").Count);
    }

    [Fact]
    public async Task AChildsPanelHostName_IsListedWithItsNode_AndWhyItFailed()
    {
        AddServices("https://acme.example.test/directory");
        await using (var db = OpenDb())
        {
            db.LinkedNodes.Add(new LinkedNode
            {
                Id = Guid.NewGuid(), Alias = "mail-1", BaseUrl = "https://mail-1.example.test", AdminUserName = "admin", ProtectedToken = "x",
                Name = "mail-1", Version = "1.0.0", LinkedBy = "test", PanelHostName = "mail-1.elsewhere.example", LinkedAt = DateTimeOffset.UtcNow,
            });
            db.TlsCertificates.Add(new TlsCertificate
            {
                HostName = "mail-1.elsewhere.example", Names = ["mail-1.elsewhere.example"], LastAttemptAt = DateTimeOffset.UtcNow, Failures = 1,
                LastError = "mail-1.elsewhere.example (mail-1) is not in this node's nodes' zone", NextAttemptAt = DateTimeOffset.UtcNow.AddHours(1),
            });
            await db.SaveChangesAsync();
        }

        var cut = Render<AutoSslPage>();

        cut.WaitForAssertion(() => Assert.Equal("mail-1.elsewhere.example", cut.Find("[data-testid=host-certificate-host]").TextContent.Trim()), Patience);
        Assert.Contains("mail-1", cut.Find("[data-testid=host-certificates]").TextContent);
        Assert.Equal("Failed", cut.Find("[data-testid=host-certificate-state]").GetAttribute("data-state"));
        Assert.Contains("is not in this node's nodes' zone", cut.Find("[data-testid=host-certificate-error]").TextContent);
        Assert.Single(cut.FindAll("[data-testid=host-certificate-run]"));
    }

    [Fact]
    public async Task WithAutoSslOff_ThePageSaysWhatToSet_AndOffersNoRun()
    {
        AddServices(directory: null);
        await AccountAsync();

        var cut = Render<AutoSslPage>();

        cut.WaitForAssertion(() => Assert.Contains("Portal:Tls:Acme:DirectoryUrl", cut.Find("[data-testid=autossl-off]").TextContent), Patience);
        Assert.Empty(cut.FindAll("[data-testid=autossl-run]"));
        Assert.Empty(cut.FindAll("[data-testid=certificate-run]"));
        Assert.Empty(cut.FindAll("[data-testid=host-certificates]"));
    }

    private void AddServices(string? directory)
    {
        AddAccountServices();
        Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new PortalSettings
        {
            NodeName = "bunit",
            MailRoot = "/tmp/bunit-mail",
            AllowInsecureHttp = true,
            Tls = new TlsSettings { Acme = new AcmeSettings { DirectoryUrl = directory } },
        }));
        Services.AddHttpClient();
        Services.AddSingleton<AcmeDnsChallengeZone>();
        Services.AddSingleton<ICertificateInstaller, NoMailServers>();
        Services.AddSingleton<AutoSslService>();
        Services.AddSingleton<IOperationJournal, OperationJournal>();
        Services.AddSingleton<OperationLauncher>();
        Services.AddSingleton<AutoSslRunJob>();
    }

    /// <summary>An account with its zone, as AccountService leaves them (written here: no sign-in is needed).</summary>
    private async Task<string> AccountAsync()
    {
        var name = "ssl" + Guid.NewGuid().ToString("N")[..8];
        await using var db = OpenDb();
        var account = new Account { Username = name, Domain = $"{name}.example.test", ContactEmail = $"o@{name}.example.test", OwnerName = "root", CreatedAt = DateTimeOffset.UtcNow };
        db.Accounts.Add(account);
        await db.SaveChangesAsync();
        db.DnsZones.Add(new DnsZone { Name = account.Domain, AccountId = account.Id, Serial = 2026113001, UpdatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
        return name;
    }

    /// <summary>The page runs nothing that issues here, so no certificate is ever installed (the real-server tests install them).</summary>
    private sealed class NoMailServers : ICertificateInstaller
    {
        public Task InstallAsync(IReadOnlyCollection<string> usernames, CancellationToken ct) =>
            throw new InvalidOperationException("The AutoSSL page installed certificates; it only shows them.");

        public Task<IReadOnlyList<string>> InstallPanelsAsync(IReadOnlyCollection<string> hostNames, CancellationToken ct) =>
            throw new InvalidOperationException("The AutoSSL page installed certificates; it only shows them.");
    }
}
