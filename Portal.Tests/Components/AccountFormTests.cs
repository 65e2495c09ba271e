using Bunit;
using Portal.Components.Accounts;

namespace Portal.Tests.Components;

/// <summary>The Create a New Account form checks as the admin types and shows what keeps an account from a mail node.</summary>
public sealed class AccountFormTests : ComponentTestContext
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AddAccountServices();
        await using var db = OpenDb();
        db.LinkedNodes.Add(new LinkedNode
        {
            Id = Guid.NewGuid(),
            Alias = "mail-1",
            BaseUrl = "http://localhost:1/",
            AdminUserName = "admin",
            ProtectedToken = "unused",
            Name = "mail-1",
            Version = "1.0.0",
            Profile = ServerProfile.Mail,
            Purpose = LinkPurpose.Mail,
            Status = NodeStatus.Online,
            MailFreeBytes = 5L << 30,
            MailTotalBytes = 10L << 30,
            LinkedBy = "admin",
        });
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task BadFields_ShowWhatToFix_AndNothingIsCreated()
    {
        var cut = Render<AccountForm>();
        cut.WaitForAssertion(() => cut.Find("[data-testid=account-username]"), Patience);

        // Each find and its event in one go: the form may still render what it loads (rules, mail nodes) meanwhile.
        await cut.InvokeAsync(() => cut.Find("[data-testid=account-username]").Input("Bad Name"));
        await cut.InvokeAsync(() => cut.Find("[data-testid=account-domain]").Input("nodot"));
        await cut.InvokeAsync(() => cut.Find("[data-testid=account-email]").Input("not-an-email"));
        await cut.InvokeAsync(() => cut.Find("[data-testid=account-create]").Click());

        cut.WaitForAssertion(() =>
        {
            var errors = cut.FindAll(".mud-input-error").Select(e => e.TextContent).ToList();
            Assert.Contains(errors, e => e.Contains("1-16 lowercase letters and digits", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.Contains("is not a domain name", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.Contains("Give an email address", StringComparison.Ordinal));
        }, Patience);
        await using var db = OpenDb();
        Assert.Equal(0, await db.Accounts.CountAsync());
    }

    [Fact]
    public void MailRouting_ListsTheMailNodeWithItsFreeDiskAndLoad()
    {
        var cut = Render<AccountForm>();

        cut.WaitForAssertion(() =>
        {
            var option = cut.Find("input[data-testid=routing-mail-1]").Closest("label")!;
            Assert.Contains("mail-1 · Online · 5 GiB free · 0 account(s)", option.TextContent);
        }, Patience);
    }

    [Fact]
    public void ChoosingAMailNode_WithIpv6On_SaysWhyAndBlocksCreate()
    {
        var cut = Render<AccountForm>();
        cut.WaitForAssertion(() => cut.Find("input[data-testid=routing-mail-1]"), Patience);

        cut.Find("input[data-testid=account-ipv6]").Change(true);
        cut.Find("input[data-testid=routing-mail-1]").Click();

        cut.WaitForAssertion(() =>
        {
            Assert.Contains("cannot have IPv6 enabled", cut.Find("[data-testid=distribution-problem]").TextContent);
            Assert.True(cut.Find("[data-testid=account-create]").HasAttribute("disabled"));
        }, Patience);
    }

    [Fact]
    public void ChoosingAMailNode_WithoutApiTokens_SaysWhy()
    {
        var cut = Render<AccountForm>();
        cut.WaitForAssertion(() => cut.Find("input[data-testid=routing-mail-1]"), Patience);

        cut.Find("input[data-testid=feature-ApiTokens]").Change(false);
        cut.Find("input[data-testid=routing-mail-1]").Click();

        cut.WaitForAssertion(() => Assert.Contains("needs the \"API Tokens\" feature", cut.Find("[data-testid=distribution-problem]").TextContent), Patience);
    }

    [Fact]
    public async Task AnInternationalDomain_ShowsItsStoredForm()
    {
        var cut = Render<AccountForm>();
        cut.WaitForAssertion(() => cut.Find("[data-testid=account-domain]"), Patience);

        await cut.InvokeAsync(() => cut.Find("[data-testid=account-domain]").Input("bücher.example"));

        cut.WaitForAssertion(() => Assert.Contains("Stored as xn--bcher-kva.example", cut.Markup), Patience);
    }
}
