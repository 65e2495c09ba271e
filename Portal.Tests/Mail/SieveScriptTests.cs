namespace Portal.Tests.Mail;

/// <summary>The Sieve script Portal writes from a mailbox's autoresponder and filters, and the rules its settings follow.</summary>
public sealed class SieveScriptTests
{
    [Fact]
    public void AnAutoresponderAndFilters_MakeOneScript_WithEveryUserValueQuoted()
    {
        var sieve = new MailboxSieve(
            new VacationReply(true, "Away \"now\"", "Back on Monday.\nC:\\ is \"fine\".", new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 24), 3),
            [
                new MailFilter("subject", "contains", "invoice", "move", "Invoices"),
                new MailFilter("from", "is", "spam@example.org", "discard"),
                new MailFilter("to", "contains", "sales", "forward", "boss@example.org"),
            ]);

        var script = SieveScript.Render(sieve, "vera@example.test")!;

        Assert.Contains("require [\"vacation\", \"fileinto\", \"mailbox\", \"copy\", \"date\", \"relational\"];", script);
        Assert.Contains("if header :contains \"subject\" \"invoice\" {\n  fileinto :create \"Invoices\";\n  stop;\n}", script);
        Assert.Contains("if address :is \"from\" \"spam@example.org\" {\n  discard;\n  stop;\n}", script);
        Assert.Contains("if address :contains \"to\" \"sales\" {\n  redirect :copy \"boss@example.org\";\n}", script);
        Assert.Contains("if allof(currentdate :zone \"+0000\" :value \"ge\" \"date\" \"2026-12-01\", currentdate :zone \"+0000\" :value \"le\" \"date\" \"2026-12-24\") {", script);
        Assert.Contains("vacation :days 3 :subject \"Away \\\"now\\\"\" :addresses [\"vera@example.test\"] \"Back on Monday.\nC:\\\\ is \\\"fine\\\".\";", script);
    }

    [Fact]
    public void NothingToDo_MakesNoScript_AndATurnedOffAutoresponderIsKeptButNotRun()
    {
        Assert.Null(SieveScript.Render(MailboxSieve.None, "a@example.test"));
        Assert.Null(SieveScript.Render(new MailboxSieve(new VacationReply(false, "Away", "Back soon."), []), "a@example.test"));
    }

    /// <summary>What would break out of a quoted string or a line, or reach outside the mailbox, is refused before any script is made.</summary>
    [Theory]
    [InlineData("subject", "contains", "x\"; discard; #", "move", "Inbox2\"; redirect \"thief@example.org", "is not a folder name")]
    [InlineData("subject", "contains", "line\nbreak", "discard", null, "must be one line")]
    [InlineData("header", "contains", "x", "discard", null, "look at the sender (from), the recipients (to) or the subject")]
    [InlineData("from", "matches", "x", "discard", null, "match with \"contains\" or \"is\"")]
    [InlineData("from", "is", "x", "forward", "a@example.org, b@example.org", "is not one email address")]
    [InlineData("from", "is", "x", "move", "../../other.example/ceo", "is not a folder name")]
    [InlineData("from", "is", "x", "move", ".Trash", "is not a folder name")]
    [InlineData("from", "is", "x", "reject", null, "the action is move, discard or forward")]
    public void ABadFilter_IsRefusedSayingWhatToFix(string field, string match, string value, string action, string? target, string problem)
    {
        var sieve = new MailboxSieve(null, [new MailFilter(field, match, value, action, target)]);

        Assert.Contains(SieveScript.Problems(sieve), p => p.Contains(problem, StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => SieveScript.Render(sieve, "a@example.test"));
    }

    [Fact]
    public void ABadAutoresponder_IsRefused()
    {
        Assert.Contains(SieveScript.Problems(new MailboxSieve(new VacationReply(true, "Away\r\nBcc: x@example.org", "Back."), [])), p => p.Contains("subject must be one line", StringComparison.Ordinal));
        Assert.Contains(SieveScript.Problems(new MailboxSieve(new VacationReply(true, "Away", ""), [])), p => p.Contains("message must hold", StringComparison.Ordinal));
        Assert.Contains(SieveScript.Problems(new MailboxSieve(new VacationReply(true, "Away", "Back.", Days: 0), [])), p => p.Contains("1 to 30 days", StringComparison.Ordinal));
        Assert.Contains(SieveScript.Problems(new MailboxSieve(new VacationReply(true, "Away", "Back.", new DateOnly(2026, 12, 2), new DateOnly(2026, 12, 1)), [])), p => p.Contains("before its first", StringComparison.Ordinal));
        Assert.Contains(SieveScript.Problems(new MailboxSieve(null, Enumerable.Repeat(new MailFilter("from", "is", "x", "discard"), 51).ToList())), p => p.Contains("At most 50", StringComparison.Ordinal));
    }

    /// <summary>Another node's settings pass the same rules: a mailbox whose filters break them makes the whole configuration refused.</summary>
    [Fact]
    public void AConfigurationFromAnotherNode_WithABadFilter_IsRefusedWhole()
    {
        var hash = ShaCrypt.HashForDovecot("victim-Kq7vZp3xWm9t");
        var configuration = new MailConfiguration(
            [new MailAddressConfig("vera", hash, 0, DateTimeOffset.UnixEpoch, new MailboxSieve(null, [new MailFilter("from", "is", "x", "move", "../x")]))], []);

        var refused = Assert.Throws<UntrustedDataException>(() => MailRules.EnsureAcceptable(configuration, "example.test", "mail-1"));
        Assert.Contains("mailbox \"vera\": Filter 1: \"../x\" is not a folder name", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>A move reads the settings back from the node it sent them to: one that dropped or changed a mailbox's filters is caught.</summary>
    [Fact]
    public void SettingsKeptOtherwiseThanSent_AreFound()
    {
        var hash = ShaCrypt.HashForDovecot("vera-Kq7vZp3xWm9t");
        var sieve = new MailboxSieve(new VacationReply(true, "Away", "Back."), [new MailFilter("from", "is", "x@example.org", "discard")]);
        var sent = new MailConfiguration([new MailAddressConfig("vera", hash, 10, DateTimeOffset.UnixEpoch, sieve)], [new MailForwarderConfig("jobs@example.test", "/usr/bin/jobs", true, true)]);

        Assert.Empty(MailRules.Differences(sent, sent with { Forwarders = [new MailForwarderConfig("jobs@example.test", "/usr/bin/jobs", true, false)] }));
        Assert.Equal(["mailbox vera has other autoresponder or filters"],
            MailRules.Differences(sent, sent with { Addresses = [sent.Addresses[0] with { Sieve = sieve with { Filters = [] } }] }));
        Assert.Equal(["mailbox vera is missing", "the forwarders differ"], MailRules.Differences(sent, new MailConfiguration([], [])));
    }
}
