using Bunit;
using Portal.Components.Passwords;

namespace Portal.Tests.Components;

/// <summary>The password field measures what is typed against the rule that will judge it, and passes the value on at once.</summary>
public sealed class PasswordInputTests : ComponentTestContext
{
    private static readonly AccountPasswordRule EmailOnChild = new("email", "Email accounts", "mail-7", true, 60);

    [Fact]
    public void Typing_ShowsTheStrengthAgainstTheGoverningNodesMinimum_AndWhatMakesItGuessable()
    {
        string? bound = null;
        var cut = Render<PasswordInput>(p => p.Add(x => x.Rule, EmailOnChild).Add(x => x.TestId, "pw").Add(x => x.ValueChanged, v => bound = v));
        Assert.Contains("Node mail-7 requires a strength of at least 60", cut.Find("[data-testid=pw-rule]").TextContent);

        cut.Find("input[data-testid=pw]").Input("password123");

        Assert.Equal("password123", bound);
        cut.WaitForAssertion(() => Assert.Contains("node mail-7 requires at least 60 for email accounts", cut.Find("[data-testid=pw-rule]").TextContent), Patience);
        Assert.Contains("Easy to guess: a common word, name or password (\"password\")", cut.Find("[data-testid=pw-rule]").TextContent);
    }

    [Fact]
    public void AStrongPassword_SaysSoWithoutHints()
    {
        var cut = Render<PasswordInput>(p => p.Add(x => x.Rule, EmailOnChild).Add(x => x.TestId, "pw"));

        cut.Find("input[data-testid=pw]").Input("quiet-Lantern-Orbit-5521");

        cut.WaitForAssertion(() => Assert.Matches(@"^Strength \d+; node mail-7 requires at least 60 for email accounts\.$", cut.Find("[data-testid=pw-rule]").TextContent.Trim()), Patience);
    }
}
