using Microsoft.Extensions.Logging.Abstractions;

namespace Portal.Tests.Mail;

/// <summary>
/// Every run of a mail-server tool is bounded: a hung postmap (here a stand-in that sleeps, with a child of its own) is
/// stopped with everything it started, the failure names it, and the mail-state lock it held is free again, so the
/// next publication goes through.
/// </summary>
public sealed class MailServerCommandTests : IDisposable
{
    private static readonly MailState State = new(
        ["example.test"],
        [new MailUser("alice@example.test", "{SHA512-CRYPT}$6$salt$hash", "/srv/mail/example.test/alice", 0)],
        [],
        []);

    private readonly TempFolder _temp = new("portal-commands-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AHungPostmap_IsStoppedWithItsChildren_ReportedByName_AndTheNextPublicationSucceeds()
    {
        var (services, hang, calls, childPid) = StandIns(timeout: TimeSpan.FromSeconds(1));
        File.WriteAllText(hang, "");

        var started = DateTime.UtcNow;
        var failure = await Assert.ThrowsAsync<ExternalProgramTimeoutException>(() => services.PublishAsync(State, CancellationToken.None));

        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.StartsWith("postmap -c ", failure.Message);
        Assert.Contains("did not finish within 1 s; Portal stopped it and the processes it had started", failure.Message);
        var child = int.Parse(File.ReadAllText(childPid).Trim());
        Assert.False(IsRunning(child), "the stand-in's own child (sleep) was stopped too");

        // The server answers again: the same publication, which was left undone, now goes through.
        File.Delete(hang);
        await services.PublishAsync(State, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("reload", File.ReadAllText(calls));
    }

    /// <summary>
    /// A publication follows a change already committed to the database: when its caller gives up half-way (a request
    /// whose client went away), it still compiles every map and reloads Postfix. Cut short, it once left a child
    /// relaying a domain its database said it served, and mail looped between three nodes.
    /// </summary>
    [Fact]
    public async Task APublicationWhoseCallerGivesUp_StillCompilesEveryMapAndReloadsPostfix()
    {
        var (services, _, calls, _) = StandIns(timeout: TimeSpan.FromSeconds(30), slowPostmap: true);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await services.PublishAsync(State, cancel.Token);

        Assert.True(cancel.IsCancellationRequested, "the caller gave up while the publication ran");
        var log = File.ReadAllLines(calls);
        Assert.Equal(MailServerAdapter.PostfixMaps.Count, log.Count(l => l.StartsWith("postmap ", StringComparison.Ordinal)));
        Assert.EndsWith("reload", log[^1]);
        foreach (var map in MailServerAdapter.PostfixMaps)
        {
            Assert.True(File.Exists(Path.Combine(_temp.Path, "state", map + ".db")), $"{map}.db is in place");
            Assert.False(File.Exists(Path.Combine(_temp.Path, "state", map + ".next")), "no half-made map is left");
        }
    }

    /// <summary>
    /// A move's switch on the node in the middle: one domain comes back from a child while another leaves for one.
    /// Whatever maps a Postfix process opens while they are compiled one by one, each domain is routed to the node
    /// that serves it or is a local domain with its mailboxes; never neither (Postfix would look for its MX on the
    /// Internet and return the message).
    /// </summary>
    [Fact]
    public async Task DomainsChangingSides_AreAlwaysRoutedOrServed_InEveryMapsPostfixCanOpenMeanwhile()
    {
        var (services, _, calls, _) = StandIns(timeout: TimeSpan.FromSeconds(30), recordTables: true);
        var before = new MailState(
            ["leaving.test"],
            [new MailUser("bob@leaving.test", "{SHA512-CRYPT}$6$salt$hash", "/srv/mail/leaving.test/bob", 0)],
            [],
            [new MailRoute("coming.test", "10.0.0.2")]);
        var after = new MailState(
            ["coming.test"],
            [new MailUser("ann@coming.test", "{SHA512-CRYPT}$6$salt$hash", "/srv/mail/coming.test/ann", 0)],
            [],
            [new MailRoute("leaving.test", "10.0.0.3")]);
        await services.PublishAsync(before, CancellationToken.None);
        File.Delete(calls);

        await services.PublishAsync(after, CancellationToken.None);

        // Each line of the record: what the compiled transport, domains and mailbox maps held when a program ran.
        var seen = File.ReadAllLines(calls).Where(l => l.StartsWith("tables ", StringComparison.Ordinal)).ToList();
        Assert.True(seen.Count >= MailServerAdapter.PostfixMaps.Count + 1, $"every compile was seen: {seen.Count}");
        foreach (var tables in seen)
        {
            foreach (var (domain, user) in new[] { ("coming.test", "ann@coming.test"), ("leaving.test", "bob@leaving.test") })
            {
                var routed = tables.Contains($"T:{domain} smtp:", StringComparison.Ordinal);
                var served = tables.Contains($"D:{domain} OK", StringComparison.Ordinal) && tables.Contains($"M:{user} ", StringComparison.Ordinal);
                Assert.True(routed || served, $"{domain} was neither routed nor served in: {tables}");
            }
        }

        // And in the end each is only where it now belongs.
        var final = seen[^1];
        Assert.Contains("T:leaving.test smtp:[10.0.0.3]:25", final);
        Assert.DoesNotContain("T:coming.test", final);
        Assert.DoesNotContain("D:leaving.test", final);
        Assert.DoesNotContain("M:bob@leaving.test", final);
    }

    [Fact]
    public async Task AProgramThatIsMissing_SaysWhichAndWhereToLook()
    {
        var services = new MailServerAdapter(
            new MailServerAdapterSettings { StateDirectory = Path.Combine(_temp.Path, "state"), Postmap = Path.Combine(_temp.Path, "no-such-postmap") },
            NullLogger<MailServerAdapter>.Instance);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => services.PublishAsync(State, CancellationToken.None));

        Assert.Contains("no-such-postmap", failure.Message);
        Assert.Contains("Check the mail server settings (Portal:Mail)", failure.Message);
    }

    [Fact]
    public async Task PasswordChanges_AreNeverADovecotReload_EachWriteHasItsOwnMtimeSecond_AndThePublicationEndsOnceDovecotReadsIt()
    {
        var bin = Directory.CreateDirectory(Path.Combine(_temp.Path, "dbin")).FullName;
        var calls = Path.Combine(_temp.Path, "doveadm-calls");
        Shell.WriteScript(Path.Combine(bin, "doveadm"), $"""echo "doveadm $*" >> {calls}""");
        var state = Path.Combine(_temp.Path, "dstate");
        var services = new MailServerAdapter(new MailServerAdapterSettings { StateDirectory = state, Doveadm = Path.Combine(bin, "doveadm") }, NullLogger<MailServerAdapter>.Instance);
        var passwd = Path.Combine(state, MailServerAdapter.PasswdFile);

        var seconds = new List<long>();
        foreach (var hash in new[] { "$6$salt$aaaa", "$6$salt$bbbb", "$6$salt$cccc" })
        {
            // The same size each time, as a changed SHA512-CRYPT hash has: Dovecot would see only the mtime change.
            await services.PublishAsync(State with { Users = [State.Users[0] with { PasswordHash = "{SHA512-CRYPT}" + hash }] }, CancellationToken.None);
            var written = File.GetLastWriteTimeUtc(passwd).Ticks / TimeSpan.TicksPerSecond;
            seconds.Add(written);
            // Dovecot's first lookup from now on reads the file again: a new second has begun since it was written.
            Assert.True(DateTime.UtcNow.Ticks / TimeSpan.TicksPerSecond > written, "the publication returned before Dovecot would read the file");
            Assert.Contains(hash, File.ReadAllText(passwd));
        }

        Assert.Equal(seconds.Count, seconds.Distinct().Count());
        Assert.False(File.Exists(calls) && File.ReadAllText(calls).Contains("reload", StringComparison.Ordinal), "Dovecot was reloaded");
    }

    /// <summary>Whether a process runs (a killed one may linger as a zombie until it is reaped: that does not count).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// A postmap that hangs while a flag file exists (it starts a sleep of its own and waits for it, as a tool waiting
    /// on a lock would) and a postfix beside it; both record their calls.
    /// </summary>
    /// <param name="recordTables">Each program first records what the compiled transport, domains and mailbox maps
    /// hold, on one line (T:, D: and M: before each entry); the stand-in postmap "compiles" a table by copying it.</param>
    private (MailServerAdapter Services, string Hang, string Calls, string ChildPid) StandIns(TimeSpan timeout, bool slowPostmap = false, bool recordTables = false)
    {
        var bin = Directory.CreateDirectory(Path.Combine(_temp.Path, "bin")).FullName;
        var (hang, calls, childPid) = (Path.Combine(_temp.Path, "hang"), Path.Combine(_temp.Path, "calls"), Path.Combine(_temp.Path, "child-pid"));
        var state = Path.Combine(_temp.Path, "state");
        var record = !recordTables ? "" : $$"""
            { printf 'tables'; for m in T:{{MailServerAdapter.TransportFile}} D:{{MailServerAdapter.DomainsFile}} M:{{MailServerAdapter.MailboxMapFile}}; do
                [ -e "{{state}}/${m#*:}.db" ] && sed "s/^/ ${m%%:*}:/" "{{state}}/${m#*:}.db" | tr '\n' ' '; done; echo; } >> {{calls}}
            """;
        Shell.WriteScript(Path.Combine(bin, "postmap"), $"""
            {record}
            echo "postmap $*" >> {calls}
            if [ -e {hang} ]; then sleep 600 & echo $! > {childPid}; wait; fi
            {(slowPostmap ? "sleep 0.2" : "")}
            table=$(echo "$*" | sed 's/.*hash://')
            {(recordTables ? "cp \"$table\" \"$table.db\"" : ": > \"$table.db\"")}
            exit 0
            """);
        Shell.WriteScript(Path.Combine(bin, "postfix"), $"""
            {record}
            echo "postfix $*" >> {calls}
            """);
        var services = new MailServerAdapter(
            new MailServerAdapterSettings
            {
                StateDirectory = state,
                Postmap = Path.Combine(bin, "postmap"),
                PostfixConfig = Path.Combine(_temp.Path, "postfix"),
                CommandTimeout = timeout,
            },
            NullLogger<MailServerAdapter>.Instance);
        return (services, hang, calls, childPid);
    }
}
