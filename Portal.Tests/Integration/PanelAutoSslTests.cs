using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Portal.Tests.Integration;

/// <summary>
/// The rules behind the panels' certificates from AutoSSL, on a database of their own: the nodes' zone answers each
/// node's panel host and holds its challenges, no account can take it, the settings say what a node needs, a child's
/// report of its host is checked, and a child checks the certificate it is sent before it serves it (until then, a
/// self-signed one). The whole path through Pebble and two nodes is in <c>PanelAutoSslServerTests</c>.
/// </summary>
public sealed class PanelAutoSslTests : IAsyncLifetime
{
    private readonly TempFolder _temp = new("portal-panel-tls-");
    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await TestDatabases.CreateAsync(nameof(PanelAutoSslTests));

    public async Task DisposeAsync()
    {
        await TestDatabases.DropAsync(_connectionString);
        _temp.Dispose();
    }

    private const string Zone = "nodes.provider.example";

    private PortalSettings Settings() => new()
    {
        NodeName = "parent",
        PublicUrl = $"https://parent.{Zone}",
        Dns = new DnsSettings { PublicIPv4 = "192.0.2.10", NodesZone = Zone, NameServers = ["ns1.provider.example", "ns2.provider.example"] },
    };

    [Fact]
    public async Task TheNodesZone_AnswersEachNodesPanelHost_FirstLinkedWins_KeepsChallenges_AndChangesOnlyWhenTheNodesDo()
    {
        var db = new TestDbContextFactory(_connectionString);
        var zones = new DnsZoneService(db, Options.Create(Settings()), TimeProvider.System);
        await using (var context = db.CreateDbContext())
        {
            context.LinkedNodes.AddRange(
                Child("mail-1", $"mail-1.{Zone}", "192.0.2.11", minutesAgo: 30),
                Child("late", $"mail-1.{Zone}", "192.0.2.66", minutesAgo: 5),
                Child("elsewhere", "mail.other.example", "192.0.2.12", minutesAgo: 20),
                Child("none", null, "192.0.2.13", minutesAgo: 10),
                // A compromised child naming the parent's own host, or the host another child is linked by: neither
                // may point there.
                Child("thief", $"parent.{Zone}", "192.0.2.99", minutesAgo: 40),
                Child("mail-2", null, "192.0.2.14", minutesAgo: 35, baseUrl: $"https://mail-2.{Zone}:2083"),
                Child("thief-2", $"mail-2.{Zone}", "192.0.2.98", minutesAgo: 34));
            await context.SaveChangesAsync();
        }

        var id = await zones.SyncNodesZoneAsync(CancellationToken.None);

        Assert.NotNull(id);
        var zone = await ZoneAsync(db);
        Assert.Null(zone.AccountId);
        Assert.Equal(
            ["@ NS ns1.provider.example.", "@ NS ns2.provider.example.", "mail-1 A 192.0.2.11", "parent A 192.0.2.10"],
            zone.Records.Select(r => $"{r.Name} {r.Type} {r.Content}").Order(StringComparer.Ordinal));
        Assert.Null(await zones.SyncNodesZoneAsync(CancellationToken.None));

        // A DNS-01 challenge for a node's host goes into this zone, and stays through the next change of the nodes.
        Assert.Equal(id, await zones.SetAcmeChallengeAsync($"_acme-challenge.mail-1.{Zone}", "token-1", present: true, CancellationToken.None));
        await using (var context = db.CreateDbContext())
        {
            await context.LinkedNodes.Where(n => n.Alias == "mail-1").ExecuteUpdateAsync(u => u.SetProperty(n => n.PublicIPv4, "192.0.2.21"));
        }

        var serial = zone.Serial;
        Assert.Equal(id, await zones.SyncNodesZoneAsync(CancellationToken.None));
        zone = await ZoneAsync(db);
        Assert.Contains(zone.Records, r => r is { Name: "mail-1", Type: "A", Content: "192.0.2.21" });
        Assert.Contains(zone.Records, r => r is { Name: "_acme-challenge.mail-1", Type: "TXT", Content: "\"token-1\"" });
        Assert.True(zone.Serial > serial);
    }

    [Fact]
    public async Task AChildsPanelHostOutsideTheNodesZone_IsRecordedAsFailedSayingWhy_WithoutAskingTheCertificateAuthority()
    {
        var settings = Settings();
        settings.Tls = new TlsSettings
        {
            CertificateFromAutoSsl = true,
            CertificateFile = Path.Combine(_temp.Path, "p.pem"),
            KeyFile = Path.Combine(_temp.Path, "p.key"),
            Acme = new AcmeSettings { DirectoryUrl = "https://127.0.0.1:9/directory" },
        };
        await using (var context = TestDatabases.OpenContext(_connectionString))
        {
            context.LinkedNodes.Add(Child("outside", "panel.other.example", "192.0.2.12", minutesAgo: 10));
            await context.SaveChangesAsync();
        }

        var services = new ServiceCollection();
        services.AddSingleton<IDbContextFactory<PortalDbContext>>(new TestDbContextFactory(_connectionString));
        services.AddSingleton(Options.Create(settings));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        services.AddLogging();
        services.AddHttpClient();
        services.AddSingleton<DnsZoneService>();
        services.AddSingleton<DnsPublisher>();
        services.AddSingleton<AcmeDnsChallengeZone>();
        services.AddSingleton<ICertificateInstaller, NothingInstalled>();
        services.AddSingleton<AutoSslService>();
        await using var provider = services.BuildServiceProvider();
        var autoSsl = provider.GetRequiredService<AutoSslService>();

        var run = await autoSsl.RunNowAsync(null, "panel.other.example", null, CancellationToken.None);

        Assert.Equal(new AutoSslRun(0, 1, 0), run);
        var hosts = await autoSsl.ListHostsAsync(CancellationToken.None);
        var outside = Assert.Single(hosts, h => h.HostName == "panel.other.example");
        Assert.Equal(("outside", "Failed"), (outside.Node, outside.State));
        Assert.Contains($"panel.other.example (outside) is not in this node's nodes' zone {Zone}, so DNS-01 cannot prove it here", outside.LastError);
        Assert.DoesNotContain("could not be reached", outside.LastError);
        // This node's own host name is listed first, not tried yet.
        Assert.Equal(($"parent.{Zone}", "this node", "Pending"), (hosts[0].HostName, hosts[0].Node, hosts[0].State));
    }

    [Fact]
    public void AChildsPanelHost_ThatIsTheParentsOwn_OrTheHostAnotherNodeIsLinkedBy_OrAlreadyTaken_IsRefusedSayingWhy()
    {
        var claims = PanelHost.ChildClaims($"parent.{Zone}",
        [
            ("mail-1", "https://mail-1.example.test", $"mail-1.{Zone}"),
            ("thief", "https://thief.example.test", $"parent.{Zone}"),
            ("mail-2", $"https://mail-2.{Zone}:2083", null),
            ("mail-3", "https://mail-3.example.test", $"panel-3.{Zone}"),
            ("thief-2", "https://thief-2.example.test", $"mail-2.{Zone}"),
            ("late", "https://late.example.test", $"mail-1.{Zone}"),
        ]);

        // mail-2 asks for nothing, but the host it is linked by is its own all the same.
        Assert.Equal(
        [
            null,
            $"parent.{Zone} is this node's own panel host name",
            null,
            $"mail-2.{Zone} is the host mail-2 is linked by",
            $"mail-1.{Zone} is already the panel host name of mail-1",
        ], claims.Select(c => c.Problem));
    }

    [Fact]
    public async Task AnAccountsDomain_CannotBeTheNodesZone_NorHoldIt_NorLieInIt()
    {
        var rules = new DomainRules(new TestDbContextFactory(_connectionString), Options.Create(Settings()));

        foreach (var domain in new[] { Zone, "provider.example", $"shop.{Zone}" })
        {
            var problems = await rules.ProblemsAsync(domain, "root", CancellationToken.None);
            Assert.Contains(problems, p => p.Contains($"this panel's own host name {Zone}", StringComparison.Ordinal) || p.Contains($"host name parent.{Zone}", StringComparison.Ordinal));
        }

        Assert.Empty(await rules.ProblemsAsync("customer.example", "root", CancellationToken.None));
    }

    [Fact]
    public void Settings_ForAPanelCertificateFromAutoSsl_SayWhatIsMissing()
    {
        var acme = new AcmeSettings { DirectoryUrl = "https://acme.example/directory" };
        var files = (Certificate: Path.Combine(_temp.Path, "panel.pem"), Key: Path.Combine(_temp.Path, "panel.key"));

        var noFiles = Validate(new PortalSettings { PublicUrl = $"https://parent.{Zone}", Dns = new DnsSettings { NodesZone = Zone }, Tls = new TlsSettings { CertificateFromAutoSsl = true } });
        var noHost = Validate(new PortalSettings { PublicUrl = "https://192.0.2.10", Tls = new TlsSettings { CertificateFromAutoSsl = true, CertificateFile = files.Certificate, KeyFile = files.Key } });
        var noZone = Validate(new PortalSettings { PublicUrl = $"https://parent.{Zone}", Tls = new TlsSettings { CertificateFromAutoSsl = true, CertificateFile = files.Certificate, KeyFile = files.Key, Acme = acme } });
        var outside = Validate(new PortalSettings { PublicUrl = "https://panel.other.example", Dns = new DnsSettings { NodesZone = Zone }, Tls = new TlsSettings { CertificateFromAutoSsl = true, CertificateFile = files.Certificate, KeyFile = files.Key, Acme = acme } });
        var badZone = Validate(new PortalSettings { Dns = new DnsSettings { NodesZone = "not a zone" } });
        // A child (no ACME of its own) needs no nodes' zone, and its files need not exist before the first certificate.
        var child = Validate(new PortalSettings { PublicUrl = $"https://mail-1.{Zone}", Tls = new TlsSettings { CertificateFromAutoSsl = true, CertificateFile = files.Certificate, KeyFile = files.Key } });
        var parent = Validate(new PortalSettings { PublicUrl = $"https://parent.{Zone}", Dns = new DnsSettings { NodesZone = Zone }, Tls = new TlsSettings { CertificateFromAutoSsl = true, CertificateFile = files.Certificate, KeyFile = files.Key, Acme = acme } });

        Assert.Contains(noFiles, e => e.StartsWith("Portal:Tls:CertificateFromAutoSsl needs Portal:Tls:CertificateFile and Portal:Tls:KeyFile", StringComparison.Ordinal));
        Assert.Contains(noHost, e => e.StartsWith("Portal:Tls:CertificateFromAutoSsl needs Portal:PublicUrl with the panel's host name", StringComparison.Ordinal));
        Assert.Contains(noZone, e => e.Contains($"proving parent.{Zone} through DNS-01 in its nodes zone; set Portal:Dns:NodesZone", StringComparison.Ordinal));
        Assert.Contains(outside, e => e.Contains("that panel.other.example lies in", StringComparison.Ordinal));
        Assert.Contains(badZone, e => e.StartsWith("Portal:Dns:NodesZone: \"not a zone\" is not a DNS name", StringComparison.Ordinal));
        Assert.DoesNotContain(child, e => e.Contains("Portal:Tls", StringComparison.Ordinal) || e.Contains("NodesZone", StringComparison.Ordinal));
        Assert.DoesNotContain(parent, e => e.Contains("Portal:Tls", StringComparison.Ordinal) || e.Contains("NodesZone", StringComparison.Ordinal));
    }

    [Fact]
    public void AChildsHealthReport_WithAPanelHostThatIsNotAHostName_IsRefused()
    {
        var report = new NodeHealthReport(Guid.NewGuid(), "1.0.0", "Mail", 1, 2, DateTimeOffset.UtcNow, "192.0.2.11", "parent.nodes.provider.example\nInjected: yes");

        Assert.Contains("as its panel's host name; Portal refuses it", NodeDirectory.Refusal("mail-1", report));
        Assert.Null(NodeDirectory.Refusal("mail-1", report with { PanelHostName = $"mail-1.{Zone}" }));
    }

    [Fact]
    public async Task AChild_ServesASelfSignedCertificateUntilItsParentSendsOne_AndTakesOnlyOneForItsOwnHost()
    {
        var host = $"mail-1.{Zone}";
        var files = (Certificate: Path.Combine(_temp.Path, "tls", "panel.pem"), Key: Path.Combine(_temp.Path, "tls", "panel.key"));
        var settings = new PortalSettings { PublicUrl = $"https://{host}", Tls = new TlsSettings { CertificateFromAutoSsl = true, CertificateFile = files.Certificate, KeyFile = files.Key } };
        var clock = new SettableClock(DateTimeOffset.UtcNow);
        using var served = new PanelCertificate(Options.Create(settings), clock, NullLogger<PanelCertificate>.Instance);
        var panels = Panels(settings);

        // Before the first certificate: a self-signed one for the host.
        var stand = served.Current;
        Assert.Equal(stand.Subject, stand.Issuer);
        Assert.True(stand.MatchesHostname(host));

        // A certificate for another name, or with another's key, is refused and nothing is written.
        var other = await Assert.ThrowsAsync<UntrustedDataException>(() => panels.AcceptAsync(Issue("parent." + Zone), CancellationToken.None));
        Assert.Contains($"The panel certificate sent for {host} was refused: The certificate does not name {host}.", other.Message);
        var mine = Issue(host);
        await Assert.ThrowsAsync<UntrustedDataException>(() => panels.AcceptAsync(mine with { KeyPem = Issue(host).KeyPem }, CancellationToken.None));
        Assert.False(File.Exists(files.Certificate) || File.Exists(files.Key));

        // Its own is written (the key for the node's user only) and served from the next check on.
        await panels.AcceptAsync(mine, CancellationToken.None);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.Key));
        clock.Now += PanelCertificate.CheckEvery;
        using var leaf = X509Certificate2.CreateFromPem(mine.ChainPem);
        Assert.Equal(leaf.Thumbprint, served.Current.Thumbprint);

        // A node that did not ask for one says so.
        var off = Panels(new PortalSettings { PublicUrl = $"https://{host}" });
        var refused = await Assert.ThrowsAsync<PortalConflictException>(() => off.AcceptAsync(mine, CancellationToken.None));
        Assert.Contains("This node takes no panel certificate from its parent", refused.Message);
    }

    private sealed class NothingInstalled : ICertificateInstaller
    {
        public Task InstallAsync(IReadOnlyCollection<string> usernames, CancellationToken ct) => throw new InvalidOperationException("Nothing was issued, so nothing is installed.");

        public Task<IReadOnlyList<string>> InstallPanelsAsync(IReadOnlyCollection<string> hostNames, CancellationToken ct) => throw new InvalidOperationException("Nothing was issued, so nothing is installed.");
    }

    private PanelCertificates Panels(PortalSettings settings) => new(
        new TestDbContextFactory(_connectionString), new EphemeralDataProtectionProvider(), Options.Create(settings),
        null!, null!, TimeProvider.System, NullLogger<PanelCertificates>.Instance);

    /// <summary>A certificate for the host with its key, as a CA would issue it (self-signed here: a child checks names, dates and key).</summary>
    private static MailCertificate Issue(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(90));
        return new MailCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static LinkedNode Child(string alias, string? panelHost, string address, int minutesAgo, string? baseUrl = null) => new()
    {
        Id = Guid.NewGuid(),
        Alias = alias,
        BaseUrl = baseUrl ?? $"https://{alias}.example.test",
        AdminUserName = "admin",
        ProtectedToken = "x",
        Name = alias,
        Version = "1.0.0",
        LinkedBy = "test",
        PublicIPv4 = address,
        PanelHostName = panelHost,
        LinkedAt = DateTimeOffset.UtcNow.AddMinutes(-minutesAgo),
    };

    private static async Task<DnsZone> ZoneAsync(IDbContextFactory<PortalDbContext> db)
    {
        await using var context = await db.CreateDbContextAsync();
        return await context.DnsZones.AsNoTracking().Include(z => z.Records).SingleAsync(z => z.Name == Zone);
    }

    private static IReadOnlyList<string> Validate(PortalSettings settings) =>
        new PortalSettingsValidator().Validate(null, settings).Failures?.ToList() ?? [];
}
