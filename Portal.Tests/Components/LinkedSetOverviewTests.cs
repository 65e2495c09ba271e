using Bunit;
using Portal.Areas.Admin;

namespace Portal.Tests.Components;

/// <summary>The admin's overview of the linked set: its charts are scaled to what they show.</summary>
public sealed class LinkedSetOverviewTests : ComponentTestContext
{
    [Fact]
    public async Task TheAccountsChart_ForOneAccount_IsScaledToOne_NotToTwenty()
    {
        AddAccountServices();
        await Services.GetRequiredService<NodeIdentityService>().EnsureAsync(CancellationToken.None);
        await using (var db = OpenDb())
        {
            db.Accounts.Add(new Account { Username = "one", Domain = "one.example.test", ContactEmail = "o@one.example.test", OwnerName = "root", CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }

        var cut = Render<LinkedSetOverview>();

        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll("[data-testid=chart-accounts] svg text")), Patience);
        var axis = cut.FindAll("[data-testid=chart-accounts] svg text").Select(t => t.TextContent.Trim()).Where(t => double.TryParse(t, out _)).Select(double.Parse).ToList();
        Assert.Equal(1, axis.Max());
        Assert.DoesNotContain(20, axis);
    }
}
