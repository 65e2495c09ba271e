using Bunit;
using Portal.Areas.Account;

namespace Portal.Tests.Components;

/// <summary>An owner's home says what they need to set up a mail program, and how much of their limit their mail takes.</summary>
public sealed class OwnerHomeTests : ComponentTestContext
{
    [Fact]
    public async Task TheOwnersHome_GivesTheMailProgramSettings_AndTheDiskUsedAgainstTheLimit()
    {
        AddAccountServices();
        await using (var db = OpenDb())
        {
            db.Accounts.Add(new Account
            {
                Username = "home1", Domain = "home1.example.test", ContactEmail = "o@home1.example.test", OwnerName = "root", CreatedAt = DateTimeOffset.UtcNow,
                DiskUsageBytes = 256L * 1024 * 1024, MailQuotaMegabytes = 1024, UserId = "id-home1",
            });
            await db.SaveChangesAsync();
        }

        Actor = PortalAppFixture.ActorFor("home1", PortalRoles.User);
        AddAuthorization().SetAuthorized("home1").SetRoles(PortalRoles.User);
        var cut = Render<Home>();

        cut.WaitForAssertion(() => Assert.Equal("mail.home1.example.test", cut.Find("[data-testid=imap-host]").TextContent.Trim()), Patience);
        var settings = cut.Find("[data-testid=mail-client-settings]").TextContent;
        Assert.Contains("993 SSL/TLS, or 143 STARTTLS", settings);
        Assert.Contains("465 SSL/TLS, or 587 STARTTLS; sign-in required", settings);
        Assert.Equal("mail.home1.example.test", cut.Find("[data-testid=smtp-host]").TextContent.Trim());
        Assert.Contains("256 MiB of the 1 GiB your plan allows", cut.Find("[data-testid=disk-usage]").TextContent.Replace('\u00a0', ' '));
    }
}
