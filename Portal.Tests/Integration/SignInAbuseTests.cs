using System.Net.Sockets;

namespace Portal.Tests.Integration;

/// <summary>
/// A stranger at the sign-in page: wrong passwords for a child's admin lock that admin's sign-in for a while, but never
/// the node token the parent calls the child with; and attempts are throttled per client address and per user name
/// before any password is checked.
/// </summary>
public sealed class SignInAbuseTests
{
    [Fact]
    public async Task WrongPasswordsForTheChildsAdmin_LockItsSignIn_ButTheParentKeepsCallingTheChild()
    {
        await using var parent = await PortalNode.StartAsync("sparent");
        await using var child = await PortalNode.StartAsync("schild");
        (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        var childId = (await LinkedNodesFixture.LinkAsync(parent, child, "mail-1")).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;

        using (var stranger = PortalHttp.CreateClient(child.BaseUrl))
        {
            for (var i = 0; i < 6; i++)
            {
                await stranger.PostSignInAsync(PortalNode.AdminUserName, "not-the-password");
            }
        }

        // The admin's sign-in is locked now, even with the right password.
        using (var admin = PortalHttp.CreateClient(child.BaseUrl))
        {
            var locked = await admin.PostSignInAsync(PortalNode.AdminUserName, child.AdminPassword);
            Assert.Equal("/auth/lockout", locked.RedirectPath(admin));
        }

        // The parent's node token (the same admin's) is not a password: the child stays online and serves the parent.
        var check = (await parent.Api.PostAsync($"api/v1/linked-nodes/{childId}/check", new { })).Expect(HttpStatusCode.OK);
        Assert.Equal("Online", check.Body.GetProperty("status").GetString());
        var name = "sa" + Guid.NewGuid().ToString("N")[..8];
        (await parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = $"{name}.example.test", contactEmail = $"o@{name}.example.test", mailRouting = new { kind = "Node", nodeId = childId } }))
            .Expect(HttpStatusCode.Created);
        (await parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task SignInAttempts_AreThrottledPerAddress_AndPerUserNameFromAnyAddress_BeforeThePasswordIsChecked()
    {
        await using var node = await PortalNode.StartAsync("throttle", new Dictionary<string, string>
        {
            ["Portal:Security:SignInAttemptsPerMinutePerAddress"] = "4",
            ["Portal:Security:SignInAttemptsPerMinutePerUserName"] = "3",
            ["Portal:Security:MaxFailedSignIns"] = "100",
        });

        // One address, four different names: the fifth attempt from it is turned away.
        using (var one = ClientFrom("127.0.0.71", node.BaseUrl))
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await one.PostSignInAsync($"nobody{i}", "wrong")).StatusCode);
            }

            var turnedAway = await one.PostSignInAsync("nobody9", "wrong");
            Assert.Equal("/auth/signin?throttled=1", turnedAway.RedirectPath(one));
            Assert.Contains("Too many sign-in attempts", await one.GetStringAsync("auth/signin?throttled=1"));
        }

        // One name from ever new addresses: the fourth attempt is turned away too, even with the right password.
        for (var i = 0; i < 3; i++)
        {
            using var client = ClientFrom($"127.0.0.{72 + i}", node.BaseUrl);
            Assert.Equal(HttpStatusCode.OK, (await client.PostSignInAsync(PortalNode.AdminUserName, "wrong")).StatusCode);
        }

        using var last = ClientFrom("127.0.0.79", node.BaseUrl);
        var refused = await last.PostSignInAsync(PortalNode.AdminUserName, node.AdminPassword);
        Assert.Equal("/auth/signin?throttled=1", refused.RedirectPath(last));
    }

    /// <summary>A browser-like client whose connections come from the given loopback address.</summary>
    private static HttpClient ClientFrom(string address, Uri baseUrl)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = true,
            CookieContainer = new CookieContainer(),
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }
}
