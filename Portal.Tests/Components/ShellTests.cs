using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Portal.Components.Layout;

namespace Portal.Tests.Components;

/// <summary>The shell: app bar with the area's title, and a navigation drawer with the links of that area only.</summary>
public sealed class ShellTests : ComponentTestContext
{
    [Theory]
    [InlineData("/admin/users", "Administration", "nav-admin", "Operations")]
    [InlineData("/reseller", "Reseller", "nav-reseller", "Overview")]
    [InlineData("/account", "My account", "nav-account", "Overview")]
    public void EachArea_HasItsTitleAndItsOwnNavigation(string path, string title, string navId, string link)
    {
        var role = path.StartsWith("/admin", StringComparison.Ordinal) ? PortalRoles.Admin : path.StartsWith("/reseller", StringComparison.Ordinal) ? PortalRoles.Reseller : PortalRoles.User;
        AddAuthorization().SetAuthorized("someone").SetRoles(role);
        Services.GetRequiredService<NavigationManager>().NavigateTo(path);

        var cut = RenderShell("page body");

        Assert.Contains(title, cut.Find("[data-testid=area-title]").TextContent);
        var nav = cut.Find($"[data-testid={navId}]");
        Assert.Contains(link, nav.TextContent);
        Assert.Single(cut.FindAll("[data-testid^=nav-]"));
        if (role != PortalRoles.Admin)
        {
            Assert.DoesNotContain("/admin", cut.Find($"[data-testid={navId}]").InnerHtml);
        }

        Assert.Contains("page body", cut.Markup);
        Assert.Equal("true", cut.Find("[data-testid=render-mode]").GetAttribute("data-interactive"));
        Assert.Equal("someone", cut.Find("[data-testid=signed-in-user]").TextContent.Trim());
    }

    [Fact]
    public void SignOut_IsAFormPostWithAnAntiforgeryToken()
    {
        AddAuthorization().SetAuthorized("someone").SetRoles(PortalRoles.Admin);
        Services.AddSingleton<AntiforgeryStateProvider>(new FixedAntiforgery());
        Services.GetRequiredService<NavigationManager>().NavigateTo("/admin");

        var cut = RenderShell("x");

        var form = cut.Find("form[action='/auth/signout']");
        Assert.Equal("post", form.GetAttribute("method"));
        Assert.Equal("token-value", form.QuerySelector("input[name=__RequestVerificationToken]")?.GetAttribute("value"));
    }

    [Theory]
    [InlineData(false, "Something went wrong on this page, and it was logged")]
    [InlineData(true, "There is no account \"gone\" that you can see on this node.")]
    public void APageThatFails_ShowsWhatHappenedInTheShell_AndTheShellStays(bool refusal, string message)
    {
        AddAuthorization().SetAuthorized("someone").SetRoles(PortalRoles.Admin);
        Services.GetRequiredService<NavigationManager>().NavigateTo("/admin");
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));

        var cut = Render<MainLayout>(p => p.Add(c => c.Body, (RenderFragment)(b =>
        {
            b.OpenComponent<FailingPage>(0);
            b.AddComponentParameter(1, nameof(FailingPage.Refusal), refusal);
            b.CloseComponent();
        })));

        Assert.Contains(message, cut.Find("[data-testid=page-error]").TextContent);
        Assert.Contains("Administration", cut.Find("[data-testid=area-title]").TextContent);
        Assert.NotEmpty(cut.FindAll("[data-testid=nav-admin]"));
    }

    private IRenderedComponent<MainLayout> RenderShell(string body)
    {
        // As in a live circuit (interactive server rendering); set last, as it starts the service provider.
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        return Render<MainLayout>(p => p.Add(c => c.Body, (RenderFragment)(b => b.AddContent(0, body))));
    }

    /// <summary>A page whose first render fails: with a bug, or with a refusal nothing on the page caught.</summary>
    private sealed class FailingPage : ComponentBase
    {
        [Parameter]
        public bool Refusal { get; set; }

        protected override void OnInitialized() =>
            throw (Refusal ? (Exception)AccountAccess.NotVisible("gone") : new InvalidOperationException("a bug"));
    }

    private sealed class FixedAntiforgery : AntiforgeryStateProvider
    {
        public override AntiforgeryRequestToken GetAntiforgeryToken() => new("token-value", "__RequestVerificationToken");
    }
}
