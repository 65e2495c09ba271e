using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;

namespace Portal.Tests.Tls;

/// <summary>
/// A certificate another node sends is checked before it is kept: its names, dates and key. What the mail servers are
/// given is written for them exactly, with keys readable by their owner only, and a name that is not a host name is
/// refused before it reaches Dovecot's configuration.
/// </summary>
public sealed class MailCertificatesTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] Names = ["shop.example", "www.shop.example", "mail.shop.example", "webmail.shop.example"];

    private readonly TempFolder _temp = new("portal-tls-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ACertificateForTheAccountsNames_WithItsOwnKey_IsTaken()
    {
        Assert.Null(MailCertificates.Problem(Names, Issue(Names), Now));
    }

    [Fact]
    public void ACertificateThatIsNotRightInAnyWay_IsRefusedWithWhy()
    {
        var good = Issue(Names);
        Assert.Contains("does not name mail.shop.example", MailCertificates.Problem(Names, Issue(["shop.example", "www.shop.example"]), Now));
        Assert.Contains("not now", MailCertificates.Problem(Names, Issue(Names, notAfter: Now.AddMinutes(-1)), Now));
        Assert.Contains("not now", MailCertificates.Problem(Names, Issue(Names, notBefore: Now.AddDays(1)), Now));
        Assert.Contains("not the certificate's own", MailCertificates.Problem(Names, good with { KeyPem = Issue(Names).KeyPem }, Now));
        Assert.Contains("not the certificate's own", MailCertificates.Problem(Names, good with { KeyPem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }, Now));
        Assert.Contains("not a PEM certificate", MailCertificates.Problem(Names, good with { ChainPem = "hello" }, Now));
        Assert.Contains("at most 64 KiB", MailCertificates.Problem(Names, good with { ChainPem = good.ChainPem + new string('x', MailCertificates.MaxPemChars) }, Now));
        Assert.Contains("needs its chain and its key", MailCertificates.Problem(Names, good with { KeyPem = "" }, Now));
        // A wildcard would name anything under the domain: only the names themselves count.
        Assert.Contains("does not name", MailCertificates.Problem(Names, Issue(["shop.example", "*.shop.example"]), Now));
    }

    [Fact]
    public async Task TheMailServers_GetEachNamesChainAndKey_OwnerOnly_AndWhatIsNoLongerListedGoes()
    {
        var services = new MailServerAdapter(new MailServerAdapterSettings { StateDirectory = _temp.Path }, NullLogger<MailServerAdapter>.Instance);
        var shop = Issue(Names);
        var other = Issue(["other.example", "mail.other.example"]);

        Assert.True(await services.InstallCertificatesAsync([new(Names, shop.ChainPem, shop.KeyPem), new(["other.example", "mail.other.example"], other.ChainPem, other.KeyPem)], CancellationToken.None));

        var folder = Path.Combine(_temp.Path, MailServerAdapter.CertificatesFolder);
        Assert.Equal(shop.KeyPem, await File.ReadAllTextAsync(Path.Combine(folder, "shop.example.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "shop.example.key")));
        var dovecot = await File.ReadAllTextAsync(Path.Combine(_temp.Path, MailServerAdapter.DovecotTlsFile));
        Assert.Contains($"local_name mail.shop.example {{\n  ssl_cert = <{folder}/shop.example.crt\n  ssl_key = <{folder}/shop.example.key\n}}", dovecot);
        var sni = (await File.ReadAllLinesAsync(Path.Combine(_temp.Path, MailServerAdapter.SniMapFile))).ToList();
        Assert.Contains($"mail.other.example {folder}/other.example.key {folder}/other.example.crt", sni);
        Assert.Equal(6, sni.Count);

        // The same again changes nothing (no reload); without the other account, its files and names go.
        Assert.False(await services.InstallCertificatesAsync([new(Names, shop.ChainPem, shop.KeyPem), new(["other.example", "mail.other.example"], other.ChainPem, other.KeyPem)], CancellationToken.None));
        Assert.True(await services.InstallCertificatesAsync([new(Names, shop.ChainPem, shop.KeyPem)], CancellationToken.None));
        Assert.Equal(["shop.example.crt", "shop.example.key"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("other.example", await File.ReadAllTextAsync(Path.Combine(_temp.Path, MailServerAdapter.DovecotTlsFile)));
    }

    [Fact]
    public async Task TheWebmail_GetsAServerBlockPerWebmailName_ThatIncludesTheWebmailsOwnSettings()
    {
        var webmail = Path.Combine(_temp.Path, "webmail");
        var services = new MailServerAdapter(new MailServerAdapterSettings { StateDirectory = _temp.Path, NginxConfig = Path.Combine(webmail, "nginx.conf") }, NullLogger<MailServerAdapter>.Instance);
        var shop = Issue(Names);
        var other = Issue(["other.example", "mail.other.example"]);

        await services.InstallCertificatesAsync([new(Names, shop.ChainPem, shop.KeyPem), new(["other.example", "mail.other.example"], other.ChainPem, other.KeyPem)], CancellationToken.None);

        var folder = Path.Combine(_temp.Path, MailServerAdapter.CertificatesFolder);
        var blocks = await File.ReadAllTextAsync(Path.Combine(_temp.Path, MailServerAdapter.WebmailServersFile));
        Assert.Contains($"server {{\n  server_name webmail.shop.example;\n  include {webmail}/server.conf;\n  ssl_certificate {folder}/shop.example.crt;\n  ssl_certificate_key {folder}/shop.example.key;\n}}", blocks);
        Assert.Equal(1, blocks.Split("server {").Length - 1);
        Assert.DoesNotContain("other.example", blocks);
    }

    [Fact]
    public async Task ANameThatIsNotAHostName_IsRefused_BeforeAnythingIsWritten()
    {
        var services = new MailServerAdapter(new MailServerAdapterSettings { StateDirectory = _temp.Path }, NullLogger<MailServerAdapter>.Instance);
        var shop = Issue(Names);

        foreach (var name in new[] { "mail.shop.example {\n  ssl = no\n}\nlocal_name x", "../../etc", "Mail.Shop.Example", "" })
        {
            await Assert.ThrowsAsync<UntrustedDataException>(() => services.InstallCertificatesAsync([new([name], shop.ChainPem, shop.KeyPem)], CancellationToken.None));
        }

        Assert.False(File.Exists(Path.Combine(_temp.Path, MailServerAdapter.DovecotTlsFile)));
    }

    private static MailCertificate Issue(IReadOnlyList<string> names, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + names[0], key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(notBefore ?? Now.AddDays(-1), notAfter ?? Now.AddDays(60));
        return new MailCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
