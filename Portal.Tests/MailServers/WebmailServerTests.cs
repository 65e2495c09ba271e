using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using static Portal.Tests.MailServers.MailClients;

namespace Portal.Tests.MailServers;

/// <summary>
/// The webmail (Roundcube behind nginx, scripts/webmail) at webmail.&lt;domain&gt;, as a browser reaches it: on the
/// node that serves the account's mail, over HTTPS with the account's AutoSSL certificate, signing in with the
/// mailbox's own address and password, and showing the mail.
/// </summary>
[Collection(MailServersCollection.Name)]
[Trait("Category", "MailServers")]
public sealed partial class WebmailServerTests(MailServersFixture servers)
{
    [Fact]
    public async Task TheWebmailOfADistributedAccount_IsOnTheChild_WithItsCertificate_AndShowsAMessageSentToIt()
    {
        var (name, domain, address, password) = await servers.AccountAsync("web");
        await servers.RunAutoSslAsync(name);
        await SendAsync(MailServersFixture.ParentAddress, address, "hello from the webmail test");
        await EventuallyAsync(() => ImapSubjectsAsync(MailServersFixture.ParentAddress, address, password), s => s.Count == 1);
        await servers.MoveAndWaitAsync(name, servers.ChildId);
        var webmail = $"webmail.{domain}";

        // DNS sends webmail.<domain> to the child; there, nginx presents the account's certificate for it.
        var client = new Browser(MailServersFixture.ChildAddress, webmail, servers.AcmeRootPem);
        var page = await client.GetAsync("/");
        Assert.True(client.Trusted, $"the child presented {client.Presented} for {webmail}");
        Assert.Contains("rcmloginuser", page, StringComparison.Ordinal);

        // Signed in with the mailbox's own password, the owner reads the message sent to them.
        await client.SignInAsync(page, address, password);
        var message = await client.GetAsync("/?_task=mail&_mbox=INBOX&_uid=1&_action=show");
        Assert.Contains("hello from the webmail test", message, StringComparison.Ordinal);

        // A wrong password is refused.
        var stranger = new Browser(MailServersFixture.ChildAddress, webmail, servers.AcmeRootPem);
        var strangersPage = await stranger.GetAsync("/");
        await Assert.ThrowsAsync<InvalidOperationException>(() => stranger.SignInAsync(strangersPage, address, "not-the-password"));

        // http:// sends the browser to https://.
        var plain = await new Browser(MailServersFixture.ChildAddress, webmail, servers.AcmeRootPem).RawAsync($"http://{webmail}/");
        Assert.Equal(HttpStatusCode.MovedPermanently, plain.StatusCode);
        Assert.Equal($"https://{webmail}/", plain.Headers.Location?.ToString());

        await servers.MoveAndWaitAsync(name, null);
    }

    /// <summary>A browser's HTTPS to a host name at an address, as DNS would send it, with cookies.</summary>
    private sealed partial class Browser
    {
        private readonly HttpClient _http;
        private readonly string _host;

        public Browser(string address, string host, string rootPem)
        {
            _host = host;
            var handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                CookieContainer = new CookieContainer(),
                ConnectCallback = async (context, ct) =>
                {
                    var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                    await socket.ConnectAsync(IPAddress.Parse(address), context.DnsEndPoint.Port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                    {
                        var presented = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
                        var extra = new X509Certificate2Collection();
                        foreach (var element in chain?.ChainElements.Select(e => e.Certificate) ?? [])
                        {
                            extra.Add(X509CertificateLoader.LoadCertificate(element.RawData));
                        }

                        Presented = presented.Subject;
                        Trusted = TlsTrust.ChainsTo(presented, rootPem, extra) && presented.MatchesHostname(host);
                        return Trusted;
                    },
                },
            };
            _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        }

        public bool Trusted { get; private set; }

        public string Presented { get; private set; } = "nothing";

        public Task<HttpResponseMessage> RawAsync(string url) => _http.GetAsync(url);

        public async Task<string> GetAsync(string path)
        {
            using var response = await _http.GetAsync($"https://{_host}{path}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode}");
            return await response.Content.ReadAsStringAsync();
        }

        /// <summary>Roundcube's sign-in form, as a browser posts it; throws when Roundcube does not sign in.</summary>
        public async Task SignInAsync(string loginPage, string user, string password)
        {
            var token = TokenPattern().Match(loginPage) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("no request token on the sign-in page");
            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_token"] = token,
                ["_task"] = "login",
                ["_action"] = "login",
                ["_timezone"] = "UTC",
                ["_url"] = "",
                ["_user"] = user,
                ["_pass"] = password,
            });
            using var response = await _http.PostAsync($"https://{_host}/?_task=login", form);
            if (response.StatusCode != HttpStatusCode.Found || response.Headers.Location?.ToString().Contains("_task=mail", StringComparison.Ordinal) != true)
            {
                throw new InvalidOperationException($"Roundcube did not sign {user} in: {(int)response.StatusCode} {response.Headers.Location}");
            }
        }

        [GeneratedRegex("name=\"_token\" value=\"([A-Za-z0-9]+)\"")]
        private static partial Regex TokenPattern();
    }
}
