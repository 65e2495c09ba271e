using System.Security.Cryptography.X509Certificates;

namespace Portal.Tests.MailServers;

/// <summary>
/// AutoSSL on the parent against a real ACME server (Pebble), which checks each name's DNS-01 record by asking the
/// parent's PowerDNS: the record is published in the account's zone, the certificate covers the account's four names
/// and chains to the CA's root, and the records are gone afterwards.
/// </summary>
[Collection(MailServersCollection.Name)]
[Trait("Category", "MailServers")]
public sealed class AutoSslServerTests(MailServersFixture servers)
{
    [Fact]
    public async Task RunningAutoSslForAnAccount_GetsItACertificateForItsNames_ThroughDnsChallengesOnTheParentsPowerDns()
    {
        var (name, domain, _, _) = await servers.AccountAsync("tls");

        var operation = await RunAsync(name);
        Assert.Equal("1 certificate(s) issued or renewed; 0 up to date.", operation.GetProperty("summary").GetString());

        var row = await CertificateAsync(name);
        Assert.True(row.GetProperty("state").GetString() == "Valid", $"AutoSSL did not issue: {row}");
        Assert.Equal([domain, $"www.{domain}", $"mail.{domain}", $"webmail.{domain}"], row.GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.Contains("Pebble", row.GetProperty("issuer").GetString());
        Assert.True(row.GetProperty("notAfter").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(30));

        var chainPem = (await servers.Parent.Api.GetAsync($"api/v1/ssl/certificates/{name}/chain")).Expect(HttpStatusCode.OK).Text;
        using var leaf = X509Certificate2.CreateFromPem(chainPem);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(chainPem);
        Assert.True(TlsTrust.ChainsTo(leaf, servers.AcmeRootPem, chain), "the certificate does not chain to the CA's root");
        Assert.True(leaf.MatchesHostname($"webmail.{domain}"));

        // The challenge records were in the zone only while the CA looked: neither Portal's zone nor PowerDNS has them.
        var zone = (await servers.Parent.Api.GetAsync($"api/v1/accounts/{name}/zone")).Expect(HttpStatusCode.OK).Body;
        Assert.DoesNotContain(zone.GetProperty("records").EnumerateArray(), r => r.GetProperty("name").GetString()!.StartsWith("_acme-challenge", StringComparison.Ordinal));
        var answer = await Shell.RunAsync("dig", [$"@{MailServersFixture.ParentAddress}", "+short", "TXT", $"_acme-challenge.mail.{domain}"], timeout: TimeSpan.FromSeconds(20));
        Assert.Equal("", answer.Output.Trim());

        // A second run finds it up to date and leaves it alone.
        var before = row.GetProperty("lastAttemptAt").GetDateTimeOffset();
        Assert.Equal("0 certificate(s) issued or renewed; 1 up to date.", (await RunAsync(name)).GetProperty("summary").GetString());
        Assert.Equal(before, (await CertificateAsync(name)).GetProperty("lastAttemptAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task AnAccountsCertificate_IsWhatImapsPop3sAndSubmissionPresentForItsNames_OnTheParent_AndOnTheChildAfterTheMove()
    {
        var (name, domain, address, password) = await servers.AccountAsync("tlsmail");
        await RunAsync(name);
        var mail = $"mail.{domain}";

        // At the parent, every mail port presents the account's certificate for its name, and it chains to the CA.
        foreach (var (port, kind) in new[] { (993, "imaps"), (143, "imap"), (995, "pop3s"), (465, "smtps"), (587, "submission"), (25, "smtp") })
        {
            var presented = await PresentedAsync(MailServersFixture.ParentAddress, port, kind, mail, address, password);
            Assert.True(presented.Trusted, $"{kind} ({port}) at the parent presented {presented.Subject} for {mail}");
        }

        // A name the node holds no certificate for gets the node's own (which no client trusts for it).
        Assert.False((await PresentedAsync(MailServersFixture.ParentAddress, 993, "imaps", "mail.unknown.example", address, password)).Trusted);

        // The move sends the certificate to the child with the account, before mail. points there, and says so.
        var move = await servers.MoveAndWaitAsync(name, servers.ChildId);
        var twin = (await servers.Parent.Api.GetAsync($"api/v1/operations/{move}")).Expect(HttpStatusCode.OK).Body
            .GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "twin");
        Assert.Contains($"mail-1 presents the certificate of {name} for mail. and webmail.", twin.ToString());
        foreach (var (port, kind) in new[] { (993, "imaps"), (465, "smtps"), (587, "submission") })
        {
            var presented = await PresentedAsync(MailServersFixture.ChildAddress, port, kind, mail, address, password);
            Assert.True(presented.Trusted, $"{kind} ({port}) at the child presented {presented.Subject} for {mail}");
        }

        // Renewal before the end: a certificate with less than RenewBefore (30 days) left is renewed by the next run,
        // and the child, which serves the mail, presents the new one.
        var first = (await PresentedAsync(MailServersFixture.ChildAddress, 993, "imaps", mail, address, password)).Serial;
        await using (var db = TestDatabases.OpenContext(servers.Parent.ConnectionString))
        {
            var account = await db.Accounts.SingleAsync(a => a.Username == name);
            await db.TlsCertificates.Where(c => c.AccountId == account.Id).ExecuteUpdateAsync(u => u.SetProperty(c => c.NotAfter, DateTimeOffset.UtcNow.AddDays(5)));
        }

        Assert.Equal("Renewing", (await CertificateAsync(name)).GetProperty("state").GetString());
        Assert.Equal("1 certificate(s) issued or renewed; 0 up to date.", (await RunAsync(name)).GetProperty("summary").GetString());
        Assert.Equal("Valid", (await CertificateAsync(name)).GetProperty("state").GetString());
        var renewed = await PresentedAsync(MailServersFixture.ChildAddress, 993, "imaps", mail, address, password);
        Assert.True(renewed.Trusted);
        Assert.NotEqual(first, renewed.Serial);

        await servers.MoveAndWaitAsync(name, null);
    }

    /// <summary>
    /// Connects as a mail client asking for <paramref name="name"/> (SNI) and signs in: the certificate presented, and
    /// whether it chains to Pebble's root and names <paramref name="name"/> (the check a mail client makes).
    /// </summary>
    private async Task<(bool Trusted, string Subject, string Serial)> PresentedAsync(string host, int port, string kind, string name, string user, string password)
    {
        X509Certificate2? presented = null;
        var trusted = false;
        bool Check(object _, X509Certificate? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors __)
        {
            presented = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
            var extra = new X509Certificate2Collection();
            foreach (var element in chain?.ChainElements.Select(e => e.Certificate) ?? [])
            {
                extra.Add(X509CertificateLoader.LoadCertificate(element.RawData));
            }

            trusted = TlsTrust.ChainsTo(presented, servers.AcmeRootPem, extra) && presented.MatchesHostname(name);
            return true;
        }

        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Parse(host), port);
        var options = port is 993 or 995 or 465 ? MailKit.Security.SecureSocketOptions.SslOnConnect : MailKit.Security.SecureSocketOptions.StartTls;
        MailKit.MailService client = kind switch
        {
            "imaps" or "imap" => new MailKit.Net.Imap.ImapClient(),
            "pop3s" => new MailKit.Net.Pop3.Pop3Client(),
            _ => new MailKit.Net.Smtp.SmtpClient(),
        };
        using (client)
        {
            client.ServerCertificateValidationCallback = Check;
            await client.ConnectAsync(socket, name, port, options);
            if (kind != "smtp")
            {
                await client.AuthenticateAsync(user, password);
            }

            await client.DisconnectAsync(true);
        }

        return (trusted, presented?.Subject ?? "nothing", presented?.SerialNumber ?? "");
    }

    private Task<JsonElement> RunAsync(string name) => servers.RunAutoSslAsync(name);

    private async Task<JsonElement> CertificateAsync(string name) =>
        (await servers.Parent.Api.GetAsync("api/v1/ssl/certificates")).Expect(HttpStatusCode.OK).Body
            .EnumerateArray().Single(r => r.GetProperty("username").GetString() == name);
}
