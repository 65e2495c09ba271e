using System.Net;
using Portal.Jobs.Mail;
using Portal.Tests.Accounts;
using Portal.Tests.Support;

namespace Portal.Tests.Mail;

/// <summary>Email accounts and forwarders, for local accounts and for accounts whose mail a child serves.</summary>
[Collection(AccountsCollection.Name)]
public sealed class MailFunctionTests(AccountsFixture nodes)
{
    [Fact]
    public async Task LocalAccount_EmailAccountIsAMaildirAndAPasswdLineDovecotVerifies()
    {
        var name = AccountsFixture.NewName("ml");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name)).Expect(HttpStatusCode.Created);
        var address = $"alice@{AccountsFixture.NewDomain(name)}";

        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "Alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);

        var line = PasswdLine(nodes.Parent, address);
        var fields = line.Split(':');
        Assert.True(ShaCrypt.VerifyDovecot("alice-Kq7vZp3xWm9t", fields[1]));
        Assert.Equal("5000", fields[2]);
        Assert.EndsWith($"userdb_mail=maildir:{nodes.Parent.MailRoot}/{AccountsFixture.NewDomain(name)}/alice userdb_quota_rule=*:bytes={1024L * 1024 * 1024}", line);
        Assert.True(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, AccountsFixture.NewDomain(name), "alice", ".Trash", "cur")));
        Assert.Contains($"{AccountsFixture.NewDomain(name)} OK", StateFile(nodes.Parent, MailServices.DomainsFile));

        (await nodes.Parent.Api.DeleteAsync($"api/v1/accounts/{name}/mail/addresses/{address}")).Expect(HttpStatusCode.NoContent);
        Assert.DoesNotContain(address, StateFile(nodes.Parent, MailServices.PasswdFile));
        Assert.False(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, AccountsFixture.NewDomain(name), "alice")));
    }

    [Theory]
    [InlineData("a b@c.example")]
    [InlineData("a\tb@c.example")]
    [InlineData("a@c.example, d@e.example")]
    public async Task AForwarderDestination_ThatIsNotExactlyOneAddress_IsRefused_AndNothingReachesPostfix(string destination)
    {
        var name = AccountsFixture.NewName("mf");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name)).Expect(HttpStatusCode.Created);

        var refused = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("give one address, like name@example.com, without spaces or commas", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"sales@{AccountsFixture.NewDomain(name)}", StateFile(nodes.Parent, MailServices.AliasMapFile));
    }

    [Fact]
    public async Task DistributedAccount_MailFunctionsThroughTheParent_LandOnTheChild()
    {
        var name = AccountsFixture.NewName("md");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        var domain = AccountsFixture.NewDomain(name);

        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "bob", password = "bob-Kq7vZp3xWm9tB" })).Expect(HttpStatusCode.Created);
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = $"bob@{domain}" })).Expect(HttpStatusCode.Created);
        var pipe = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "tickets", destination = "/usr/bin/ticket", isPipe = true });
        var listed = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body;

        Assert.Contains($"bob@{domain}:", StateFile(nodes.Mail1, MailServices.PasswdFile));
        Assert.DoesNotContain($"bob@{domain}", StateFile(nodes.Parent, MailServices.PasswdFile));
        Assert.True(Directory.Exists(Path.Combine(nodes.Mail1.MailRoot, domain, "bob", "cur")));
        Assert.Contains($"{domain}:::::::proxy=y host={AccountsFixture.Mail1Address} nopassword=y", StateFile(nodes.Parent, MailServices.ProxyFile));
        Assert.Contains($"{domain} smtp:[{AccountsFixture.Mail1Address}]:25", StateFile(nodes.Parent, MailServices.TransportFile));
        Assert.DoesNotContain(domain, StateFile(nodes.Parent, MailServices.DomainsFile));
        Assert.Contains($"sales@{domain} bob@{domain}", StateFile(nodes.Mail1, MailServices.AliasMapFile));
        Assert.Equal("forwarder.pipe_distributed", pipe.Code);
        Assert.Contains("not available while this account's mail is served by a separate mail server", pipe.Message);
        Assert.Equal($"bob@{domain}", Assert.Single(listed.EnumerateArray()).GetProperty("address").GetString());
    }

    [Fact]
    public async Task AProxiedChange_IsAuditedOnTheParentWithTheRealActor_AndOnTheChildAsTheParentOnTheirBehalf()
    {
        var name = AccountsFixture.NewName("mx");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        var owner = await AccountsFixture.OwnerApiAsync(nodes.Parent, name);
        var address = $"carol@{AccountsFixture.NewDomain(name)}";

        (await owner.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "carol", password = "carol-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);

        await using (var parent = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            var entry = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(parent.AuditEntries.Where(e => e.Action == "email.create" && e.Target == address));
            Assert.Equal(name, entry.ActorName);
            Assert.Equal("On mail node mail-1.", entry.Details);
        }

        await using var child = TestDatabases.OpenContext(nodes.Mail1.ConnectionString);
        var there = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(child.AuditEntries.Where(e => e.Action == "email.create" && e.Target == address));
        Assert.EndsWith($"(parent, on behalf of {name})", there.ActorName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Owners_ManageOnlyTheirOwnMail()
    {
        var mine = AccountsFixture.NewName("own");
        var theirs = AccountsFixture.NewName("oth");
        var created = (await nodes.CreateAccountAsync(nodes.Parent.Api, mine)).Expect(HttpStatusCode.Created);
        (await nodes.CreateAccountAsync(nodes.Parent.Api, theirs)).Expect(HttpStatusCode.Created);
        var users = (await nodes.Parent.Api.GetAsync($"api/v1/users?search={mine}")).Body.GetProperty("items");
        var userId = users.EnumerateArray().Single(u => u.GetProperty("userName").GetString() == mine).GetProperty("id").GetString()!;
        using var owner = new PortalApi(nodes.Parent.BaseUrl, await AccountsFixture.SeedTokenAsync(nodes.Parent, userId, mine));

        var own = await owner.PostAsync($"api/v1/accounts/{mine}/mail/addresses", new { localPart = "me", password = "my-own-Kq7vZp3xWm9t" });
        var foreign = await owner.PostAsync($"api/v1/accounts/{theirs}/mail/addresses", new { localPart = "me", password = "my-own-Kq7vZp3xWm9t" });
        var foreignList = await owner.GetAsync($"api/v1/accounts/{theirs}/mail/addresses");

        own.Expect(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NotFound, foreign.Status);
        Assert.Equal(HttpStatusCode.NotFound, foreignList.Status);
        Assert.NotNull(created);
    }

    [Theory]
    [InlineData("bad local", "strong-Kq7vZp3xWm9t", "The part before @")]
    [InlineData("ok", "password123", "too weak for the rule of node")]
    public async Task BadRequests_AreRefusedWithWhatToFix(string local, string password, string message)
    {
        var name = AccountsFixture.NewName("bad");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name)).Expect(HttpStatusCode.Created);

        var refused = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = local, password });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains(message, refused.Message);
    }

    private static string StateFile(PortalNode node, string file) =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(node.MailRoot)!, "mail-state", file));

    private static string PasswdLine(PortalNode node, string address) =>
        StateFile(node, MailServices.PasswdFile).Split('\n').Single(l => l.StartsWith(address + ":", StringComparison.Ordinal));
}
