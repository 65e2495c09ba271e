using System.Text;
using Microsoft.Extensions.Logging.Abstractions;

namespace Portal.Tests.Mail;

/// <summary>
/// A mailbox's record of delivered Message-IDs travels with a move; it comes from another node, so it is read as
/// strictly as anything else, and it is merged while Dovecot may be writing it, under Dovecot's own lock.
/// </summary>
public sealed class DovecotDuplicatesTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_795_980_000);

    private readonly TempFolder _temp = new("portal-dupes-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ARecord_IsTakenOnlyInDovecotsFormat()
    {
        var one = Entry(1_795_990_000, new byte[16], "carl@mine.example");
        var two = Entry(1_795_990_100, [1, 2, 3], "carl@mine.example");

        Assert.Empty(DovecotDuplicates.Parse([]).Entries);
        var (entries, problem) = DovecotDuplicates.Parse([.. Version(2), .. one, .. two]);
        Assert.Null(problem);
        Assert.Equal([1_795_990_000u, 1_795_990_100u], entries.Select(e => e.Expires));
        Assert.Contains("version 2", DovecotDuplicates.Parse([.. Version(1), .. one]).Problem);
        Assert.Contains("ends inside an entry", DovecotDuplicates.Parse([.. Version(2), .. one[..^1]]).Problem);
        Assert.Contains("ends inside an entry", DovecotDuplicates.Parse([.. Version(2), .. one, 0, 0]).Problem);
        Assert.Contains("empty or over 4096", DovecotDuplicates.Parse([.. Version(2), .. Entry(1, [], "carl")]).Problem);
        var huge = Entry(1, new byte[16], "carl");
        BitConverter.TryWriteBytes(huge.AsSpan(4), 1u << 31);
        Assert.Contains("empty or over 4096", DovecotDuplicates.Parse([.. Version(2), .. huge]).Problem);
        Assert.Contains("at most", DovecotDuplicates.Parse(new byte[DovecotDuplicates.MaxBytes + 1]).Problem);
    }

    [Fact]
    public void Merging_KeepsEachIdOnce_WithTheLaterExpiry_MatchesUsersWithoutCase_AndDropsExpiredOnes()
    {
        var id = Encoding.ASCII.GetBytes("0123456789abcdef");
        var mine = Parse(Entry(1_795_990_000, id, "carl@mine.example"), Entry((uint)Now.ToUnixTimeSeconds() - 1, [9], "carl@mine.example"));
        var theirs = Parse(Entry(1_795_995_000, id, "Carl@Mine.example"), Entry(1_795_990_000, [7], "carl@mine.example"));

        var merged = DovecotDuplicates.Merge(mine, theirs, Now);

        Assert.Equal(2, merged.Count);
        Assert.Equal(1_795_995_000u, merged.Single(e => e.Id.SequenceEqual(id)).Expires);
        Assert.Contains(merged, e => e.Id.SequenceEqual(new byte[] { 7 }));
        Assert.Equal(merged.Select(e => e.Key), DovecotDuplicates.Parse(DovecotDuplicates.Serialize(merged)).Entries.Select(e => e.Key));
    }

    [Fact]
    public async Task AMerge_WaitsForDovecotsLock_AndTakesOverOneLeftStale()
    {
        var home = Path.Combine(_temp.Path, "held");
        Directory.CreateDirectory(home);
        var lockPath = Path.Combine(home, DovecotDuplicates.FileName + ".lock");
        await File.WriteAllBytesAsync(lockPath, []);
        var incoming = Parse(Entry(1_795_990_000, [1], "carl@mine.example"));

        var merging = DovecotDuplicates.MergeIntoAsync(home, incoming, Now, CancellationToken.None);
        await Task.Delay(300);
        Assert.False(merging.IsCompleted, "a merge does not write while Dovecot holds the record's lock");
        File.Delete(lockPath);
        Assert.Equal(1, await merging);
        Assert.False(File.Exists(lockPath));

        await File.WriteAllBytesAsync(lockPath, []);
        File.SetLastWriteTimeUtc(lockPath, DateTime.UtcNow.AddSeconds(-30));
        Assert.Equal(2, await DovecotDuplicates.MergeIntoAsync(home, Parse(Entry(1_795_990_000, [2], "carl@mine.example")), Now, CancellationToken.None));
    }

    [Fact]
    public async Task AMerge_ThatADeliveryInFlightWritesOver_IsWrittenAgain()
    {
        var home = Path.Combine(_temp.Path, "busy");
        Directory.CreateDirectory(home);
        var record = Path.Combine(home, DovecotDuplicates.FileName);
        var stale = DovecotDuplicates.Serialize(Parse(Entry(1_795_990_000, [1], "carl@mine.example")));
        await File.WriteAllBytesAsync(record, stale);
        var ours = Parse(Entry(1_795_990_000, [2], "carl@mine.example"));

        // Dovecot's delivery that checked before the merge: it writes back what it read, once the merge is there.
        var overwritten = Task.Run(async () =>
        {
            while ((await File.ReadAllBytesAsync(record)).Length == stale.Length)
            {
                await Task.Delay(10);
            }

            await File.WriteAllBytesAsync(record + ".tmp", stale);
            File.Move(record + ".tmp", record, overwrite: true);
        });

        var count = await DovecotDuplicates.MergeIntoAsync(home, ours, Now, CancellationToken.None, settle: TimeSpan.FromMilliseconds(300));
        await overwritten;

        Assert.Equal(2, count);
        Assert.Equal(2, DovecotDuplicates.Parse(await File.ReadAllBytesAsync(record)).Entries.Count);
    }

    [Fact]
    public async Task ARecordFromAnotherNode_ForAMailboxNotOfTheAccount_OrNotDovecots_IsRefused_AndNothingIsWritten()
    {
        var services = new MailServerAdapter(new MailServerAdapterSettings { StateDirectory = _temp.Path }, NullLogger<MailServerAdapter>.Instance);
        var good = new MailboxDuplicates("carl", [.. Version(2), .. Entry(1_795_990_000, [1], "carl@mine.example")]);
        var carl = new HashSet<string> { "carl" };

        await Assert.ThrowsAsync<UntrustedDataException>(() => services.MergeDuplicatesAsync("mine.example", carl,
            new MailDuplicates([good, new MailboxDuplicates("../other.example/eve", good.Record)]), Now, CancellationToken.None));
        await Assert.ThrowsAsync<UntrustedDataException>(() => services.MergeDuplicatesAsync("mine.example", carl,
            new MailDuplicates([good, new MailboxDuplicates("carl", [1, 2, 3])]), Now, CancellationToken.None));
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, MailServerAdapter.HomesFolder)), "a refused request writes nothing, not even its good part");

        var merged = await services.MergeDuplicatesAsync("mine.example", carl, new MailDuplicates([good]), Now, CancellationToken.None);

        Assert.Equal(new DuplicatesMerged(1, 1), merged);
        Assert.Equal(good.Record, services.ReadDuplicates("mine.example", ["carl", "dora"]).Mailboxes.Single().Record);
    }

    [Theory]
    [InlineData("From: a@b\r\nMessage-ID: <one@example.org>\r\nSubject: x\r\n\r\nbody", "<one@example.org>")]
    [InlineData("Message-Id:\n  <folded@example.org>\nSubject: x\n\nbody", "<folded@example.org>")]
    [InlineData("message-id: <lower@example.org> \n\n", "<lower@example.org>")]
    [InlineData("Subject: no id\r\n\r\nMessage-ID: <in-the-body@example.org>\r\n", null)]
    [InlineData("Message-ID: <first@example.org>\nMessage-ID: <second@example.org>\n\n", "<first@example.org>")]
    [InlineData("Message-ID: <no-end-of-headers@example.org>", null)]
    public void TheMessageIdOfAFile_IsItsFirstHeaderUnfolded_AndNeverTheBodys(string content, string? expected)
    {
        var file = Path.Combine(_temp.Path, Guid.NewGuid().ToString("N"));
        File.WriteAllText(file, content);

        Assert.Equal(expected, DovecotDuplicates.MessageIdOf(file));
    }

    [Fact]
    public async Task MessagesAFinalPassBrought_AreRecordedAsDelivered_AndNamesFromAnotherNodeAreCheckedFirst()
    {
        var (services, mailRoot) = MailServicesHere();
        var inbox = Path.Combine(Maildir.MailboxPath(mailRoot, "mine.example", "carl"), "new");
        Directory.CreateDirectory(inbox);
        await File.WriteAllTextAsync(Path.Combine(inbox, "1.M1.host"), "Message-ID: <brought@example.org>\r\n\r\nhello");
        await File.WriteAllTextAsync(Path.Combine(inbox, "2.M2.host"), "Subject: without an id\r\n\r\nhello");
        var carl = new HashSet<string> { "carl" };

        await Assert.ThrowsAsync<UntrustedDataException>(() => services.MarkDeliveredAsync(mailRoot, "mine.example", carl,
            new MailDelivered([new MailFileRef("carl", "../../other.example/eve/new/1")]), Now, CancellationToken.None));
        await Assert.ThrowsAsync<UntrustedDataException>(() => services.MarkDeliveredAsync(mailRoot, "mine.example", carl,
            new MailDelivered([new MailFileRef("eve", "new/1.M1.host")]), Now, CancellationToken.None));
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, "state", MailServerAdapter.HomesFolder)));

        var marked = await services.MarkDeliveredAsync(mailRoot, "mine.example", carl,
            new MailDelivered([new MailFileRef("carl", "new/1.M1.host"), new MailFileRef("carl", "new/2.M2.host"), new MailFileRef("carl", "new/gone")]), Now, CancellationToken.None);

        Assert.Equal(new DuplicatesMerged(1, 1), marked);
        var entry = DovecotDuplicates.Parse(services.ReadDuplicates("mine.example", ["carl"]).Mailboxes.Single().Record).Entries.Single();
        // Pigeonhole's key for a duplicate test without :handle or :last; the real-server tests show Sieve honours it.
        Assert.Equal(System.Security.Cryptography.MD5.HashData("sieve duplicate+default<brought@example.org>"u8), entry.Id);
        Assert.Equal("carl@mine.example", Encoding.UTF8.GetString(entry.User));
        Assert.Equal((uint)(Now + DovecotDuplicates.Period).ToUnixTimeSeconds(), entry.Expires);
    }

    [Fact]
    public async Task OnlyMessagesDeliveredWithinTheDay_AreRecorded_EachUntilADayAfterItsDelivery()
    {
        var (services, mailRoot) = MailServicesHere();
        var cur = Path.Combine(Maildir.MailboxPath(mailRoot, "mine.example", "carl"), "cur");
        Directory.CreateDirectory(cur);
        var hourAgo = Now.AddHours(-1).ToUnixTimeSeconds();
        var twoDaysAgo = Now.AddDays(-2).ToUnixTimeSeconds();
        var toCome = Now.AddDays(30).ToUnixTimeSeconds();
        await File.WriteAllTextAsync(Path.Combine(cur, $"{hourAgo}.M1P1.host:2,S"), "Message-ID: <hour@example.org>\r\n\r\nhello");
        await File.WriteAllTextAsync(Path.Combine(cur, $"{twoDaysAgo}.M2P1.host:2,S"), "Message-ID: <old@example.org>\r\n\r\nhello");
        await File.WriteAllTextAsync(Path.Combine(cur, $"{toCome}.M3P1.host"), "Message-ID: <later@example.org>\r\n\r\nhello");

        var marked = await services.MarkDeliveredAsync(mailRoot, "mine.example", new HashSet<string> { "carl" }, new MailDelivered(
            [new("carl", $"cur/{hourAgo}.M1P1.host:2,S"), new("carl", $"cur/{twoDaysAgo}.M2P1.host:2,S"), new("carl", $"cur/{toCome}.M3P1.host")]), Now, CancellationToken.None);

        Assert.Equal(new DuplicatesMerged(1, 2), marked);
        var expires = DovecotDuplicates.Parse(services.ReadDuplicates("mine.example", ["carl"]).Mailboxes.Single().Record).Entries
            .ToDictionary(e => Convert.ToHexString(e.Id), e => e.Expires);
        string Key(string id) => Convert.ToHexString(System.Security.Cryptography.MD5.HashData(Encoding.Latin1.GetBytes("sieve duplicate+default" + id)));
        Assert.Equal((uint)(hourAgo + DovecotDuplicates.Period.TotalSeconds), expires[Key("<hour@example.org>")]);
        // Another node's name cannot make an entry outlive a day from now.
        Assert.Equal((uint)(Now + DovecotDuplicates.Period).ToUnixTimeSeconds(), expires[Key("<later@example.org>")]);
        Assert.False(expires.ContainsKey(Key("<old@example.org>")));
    }

    [Fact]
    public void WhatAMoveBrought_KeepsOnlyWhatASenderMayStillSendAgain()
    {
        var clock = new SettableClock(Now);
        var brought = new RecentlyBrought(clock);
        brought.Add([new("carl", $"new/{Now.AddMinutes(-5).ToUnixTimeSeconds()}.M1P1.host"), new("carl", $"cur/{Now.AddDays(-3).ToUnixTimeSeconds()}.M1P1.host:2,S"),
            new("carl", "new/no-time-in-this-name")]);

        Assert.Equal([$"new/{Now.AddMinutes(-5).ToUnixTimeSeconds()}.M1P1.host", "new/no-time-in-this-name"], brought.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
    }

    /// <summary>Mail services whose state folder, and a mail root, are in this test's folder.</summary>
    private (MailServerAdapter Services, string MailRoot) MailServicesHere() =>
        (new MailServerAdapter(new MailServerAdapterSettings { StateDirectory = Path.Combine(_temp.Path, "state") }, NullLogger<MailServerAdapter>.Instance), Path.Combine(_temp.Path, "mail"));

    private static IReadOnlyList<DovecotDuplicates.Entry> Parse(params byte[][] entries) =>
        DovecotDuplicates.Parse([.. Version(2), .. entries.SelectMany(e => e)]).Entries;

    private static byte[] Version(uint version) => BitConverter.GetBytes(version);

    private static byte[] Entry(uint expires, byte[] id, string user)
    {
        var name = Encoding.UTF8.GetBytes(user);
        return [.. BitConverter.GetBytes(expires), .. BitConverter.GetBytes((uint)id.Length), .. BitConverter.GetBytes((uint)name.Length), .. id, .. name];
    }
}
