using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using Portal.Components.Layout;
using Portal.Features.Identity;

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

    private IRenderedComponent<MainLayout> RenderShell(string body)
    {
        // As in a live circuit (interactive server rendering); set last, as it starts the service provider.
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        return Render<MainLayout>(p => p.Add(c => c.Body, (RenderFragment)(b => b.AddContent(0, body))));
    }

    private sealed class FixedAntiforgery : AntiforgeryStateProvider
    {
        public override AntiforgeryRequestToken GetAntiforgeryToken() => new("token-value", "__RequestVerificationToken");
    }
}
