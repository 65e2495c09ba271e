namespace Portal.Tests.Mail;

/// <summary>SHA512-CRYPT as glibc's crypt(3) computes it (the expected values came from the system's crypt).</summary>
public sealed class ShaCryptTests
{
    [Theory]
    [InlineData("Hello world!", "saltstring", 5000, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")]
    [InlineData("Hello world!", "saltstringsaltstring", 10000, "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.")]
    [InlineData("", "abc", 5000, "$6$abc$mJP3a6FyA8uCnzRtlnNypPwjnvpi5TP9qOrInzrfDmwxUQG38PkpCPdqfTb8JQfAngapMxeim4AZ..hSdRRzD.")]
    [InlineData("pässwörd with spaces and a very long tail that goes past sixty-four bytes of key material for sure", "0123456789abcdef", 5000,
        "$6$0123456789abcdef$RBYRTy3B13FB.3jnQs425oPJcm0hfIwE8Gf6/11K8JvLdaxMu4uuAlwRn1IjnSveIJUhUvm0Y4l2RJD7lUlej0")]
    public void Hash_MatchesCrypt3(string password, string salt, int rounds, string expected) =>
        Assert.Equal(expected, ShaCrypt.Hash(password, salt, rounds));

    [Fact]
    public void DovecotHashes_VerifyTheirPasswordOnly_AndAreSalted()
    {
        var first = ShaCrypt.HashForDovecot("correct horse battery staple");
        var second = ShaCrypt.HashForDovecot("correct horse battery staple");

        Assert.StartsWith("{SHA512-CRYPT}$6$", first);
        Assert.NotEqual(first, second);
        Assert.True(ShaCrypt.VerifyDovecot("correct horse battery staple", first));
        Assert.False(ShaCrypt.VerifyDovecot("correct horse battery stapl", first));
        Assert.DoesNotContain("horse", first);
    }
}
