namespace Portal.Tests.Unit;

/// <summary>The estimator measures how guessable a password is, not which character classes it has.</summary>
public sealed class PasswordStrengthTests
{
    [Theory]
    [InlineData("Password123!")]
    [InlineData("qwertyuiop")]
    [InlineData("aaaaaaaaaaaaaaaa")]
    [InlineData("Tr0ub4dor&3")]
    public void CommonShapes_ScoreBelowTheDefaultMinimum_WhateverTheirCharacterClasses(string password) =>
        Assert.True(PasswordStrength.Estimate(password).Strength < PasswordPolicyService.InitialDefaultStrength, $"{password} scored {PasswordStrength.Estimate(password).Strength}");

    [Theory]
    [InlineData("correct horse battery staple")]
    [InlineData("mail-box-river-lamp-42")]
    public void Passphrases_OfUnrelatedWords_MeetTheDefaultMinimum(string password) =>
        Assert.True(PasswordStrength.Estimate(password).Strength >= PasswordPolicyService.InitialDefaultStrength, $"{password} scored {PasswordStrength.Estimate(password).Strength}");

    [Fact]
    public void GeneratedPasswords_AreAtTheTopOfTheScale() =>
        Assert.All(Enumerable.Range(0, 20).Select(_ => UserAdminService.GeneratePassword()), p => Assert.Equal(PasswordStrength.Max, PasswordStrength.Estimate(p).Strength));

    [Fact]
    public void ThePasswordsOwnNameOrAddress_CountsAsGuessable()
    {
        const string password = "zorbanix-Fjeld-2291";
        var plain = PasswordStrength.Estimate(password);
        var withName = PasswordStrength.Estimate(password, ["zorbanix@fjeld.example"]);

        Assert.True(withName.Strength < plain.Strength, $"{withName.Strength} should be below {plain.Strength}");
        Assert.Contains(withName.WeakParts, p => p.Contains("zorbanix", StringComparison.Ordinal));
    }

    [Fact]
    public void WhatMakesAPasswordWeak_IsNamed()
    {
        var estimate = PasswordStrength.Estimate("password123");

        Assert.Contains("a common word, name or password (\"password\")", estimate.WeakParts);
        Assert.Contains("a sequence (\"123\")", estimate.WeakParts);
    }
}
