using Bunit;
using Bunit.Rendering;
using MudBlazor;

namespace Portal.Tests.Components;

/// <summary>Changing a package on the Packages page shows what changes for each of its accounts before anything is applied.</summary>
public sealed class PackagesPageTests : ComponentTestContext
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AddAccountServices();
        await using var db = OpenDb();
        var package = new Package
        {
            Name = "Basic", Features = ["ApiTokens", "Email", "Forwarders"], MailQuotaMegabytes = 1000, MaxMailboxes = 5,
            CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
        };
        db.Packages.Add(package);
        await db.SaveChangesAsync();
        foreach (var (name, used) in new[] { ("alpha", 600L << 20), ("beta", 0L) })
        {
            db.Accounts.Add(new Account
            {
                Username = name, Domain = $"{name}.example.test", ContactEmail = $"o@{name}.example.test", OwnerName = "root", CreatedAt = DateTimeOffset.UtcNow,
                Features = ["ApiTokens", "Email", "Forwarders"], MailQuotaMegabytes = 1000, DiskUsageBytes = used, PackageId = package.Id,
            });
        }

        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task APreview_ShowsEachAccountsChanges_AndARefusingAccountKeepsApplyOff()
    {
        var cut = await PreviewAsync(quota: 500);

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=preview-account]").Count), Patience);
        var alpha = Row(cut, "alpha");
        var beta = Row(cut, "beta");
        Assert.Contains("It holds 600 MiB of mail, more than the new mail limit of 500 MiB.", alpha.QuerySelector("[data-testid=preview-outcome]")!.TextContent);
        Assert.Equal("true", alpha.QuerySelector("[data-testid=preview-outcome]")!.GetAttribute("data-refused"));
        Assert.Contains("will be changed", beta.QuerySelector("[data-testid=preview-outcome]")!.TextContent);
        Assert.Contains("1000 MiB → 500 MiB", beta.QuerySelector("[data-testid=preview-quota]")!.TextContent);
        Assert.Contains("− Forwarders", beta.QuerySelector("[data-testid=preview-features]")!.TextContent);
        Assert.Contains("1 account(s) would refuse this change", cut.Find("[data-testid=package-preview-refused]").TextContent);
        Assert.True(cut.Find("[data-testid=package-apply]").HasAttribute("disabled"));
        await using var db = OpenDb();
        Assert.Equal(1000, (await db.Packages.SingleAsync()).MailQuotaMegabytes);
        Assert.All(await db.Accounts.ToListAsync(), a => Assert.Contains("Forwarders", a.Features));
    }

    [Fact]
    public async Task ApplyingAPreviewedChange_ChangesThePackageAndEachOfItsAccounts()
    {
        var cut = await PreviewAsync(quota: 800);
        cut.WaitForAssertion(() => Assert.False(cut.Find("[data-testid=package-apply]").HasAttribute("disabled")), Patience);
        Assert.Contains("Apply to 2 account(s)", cut.Find("[data-testid=package-apply]").TextContent);

        await cut.InvokeAsync(() => cut.Find("[data-testid=package-apply]").Click());

        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=package-dialog]")), Patience);
        await using var db = OpenDb();
        Assert.Equal(800, (await db.Packages.SingleAsync()).MailQuotaMegabytes);
        Assert.All(await db.Accounts.ToListAsync(), a =>
        {
            Assert.Equal(800, a.MailQuotaMegabytes);
            Assert.Equal(["ApiTokens", "Email"], a.Features.Order());
        });
    }

    /// <summary>Opens the change dialog of "Basic", gives it <paramref name="quota"/> and no Forwarders, and asks for the preview.</summary>
    private async Task<IRenderedComponent<ContainerFragment>> PreviewAsync(int quota)
    {
        var cut = Render(builder =>
        {
            builder.OpenComponent<MudPopoverProvider>(0);
            builder.CloseComponent();
            builder.OpenComponent<MudDialogProvider>(1);
            builder.CloseComponent();
            builder.OpenComponent<Areas.Admin.Packages>(2);
            builder.CloseComponent();
        });
        cut.WaitForAssertion(() => Assert.Equal("Basic", cut.Find("[data-testid=package-row-name]").TextContent.Trim()), Patience);
        Assert.Equal("2", cut.Find("[data-testid=package-row-accounts]").TextContent.Trim());

        await cut.InvokeAsync(() => cut.Find("[data-testid=package-edit]").Click());
        cut.WaitForAssertion(() => cut.Find("input[data-testid=package-feature-Forwarders]"), Patience);
        await cut.InvokeAsync(() => cut.Find("input[data-testid=package-feature-Forwarders]").Change(false));
        await cut.InvokeAsync(() => cut.Find("input[data-testid=package-quota]").Change(quota.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await cut.InvokeAsync(() => cut.Find("[data-testid=package-preview-button]").Click());
        return cut;
    }

    private static AngleSharp.Dom.IElement Row(IRenderedComponent<ContainerFragment> cut, string username) =>
        cut.FindAll("[data-testid=preview-account]").Single(c => c.TextContent.Contains(username, StringComparison.Ordinal)).ParentElement!;
}
