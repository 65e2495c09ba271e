using DnsClient;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

using static Portal.Tests.MailServers.MailClients;

namespace Portal.Tests.MailServers;

/// <summary>
/// Real clients (MailKit's IMAP, POP3 and SMTP, DnsClient) against the real servers the nodes drive: before a move
/// the parent serves the mail; after it, the parent proxies IMAP/POP3 and relays SMTP to the child and the DNS answers
/// the child; after the way back, everything points at the parent again.
/// </summary>
[Collection(MailServersCollection.Name)]
[Trait("Category", "MailServers")]
public sealed class MailServerTests(MailServersFixture servers)
{
    private const string Parent = MailServersFixture.ParentAddress;
    private const string Child = MailServersFixture.ChildAddress;

    [Fact]
    public async Task BeforeAMove_TheParentServesTheMail_OverImapPop3AndSmtp()
    {
        var (_, domain, address, password) = await servers.AccountAsync();

        await SendAsync(Parent, address, "hello parent");

        Assert.Equal(["hello parent"], await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1));
        Assert.Equal(1, await Pop3CountAsync(Parent, address, password));
        // Delivered into the Maildir Portal keeps (Dovecot moved it from new/ to cur/ when it was read).
        Assert.Single(Directory.GetFiles(Path.Combine(servers.Parent.MailRoot, domain, "alice"), "*", SearchOption.AllDirectories), f => f.Contains("/new/") || f.Contains("/cur/"));
    }

    /// <summary>
    /// A message that comes twice (a sender that lost the connection after sending it tries again): the same
    /// Message-ID. The mailbox keeps one; messages without a Message-ID, and other messages, are all kept.
    /// </summary>
    [Fact]
    public async Task AMessageDeliveredTwice_IsKeptOnce_ByItsMessageId()
    {
        var (_, domain, address, password) = await servers.AccountAsync("dana");
        var again = Message(address, "sent twice", "<twice-1@example.org>");

        await SendMessageAsync(again);
        // The retry comes once the first has landed, as a sender's does (two deliveries of it at the same instant can
        // both pass Dovecot's check of the Message-ID: Postfix delivered them side by side and a full run kept both).
        await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1);
        await SendMessageAsync(again);
        await SendMessageAsync(Message(address, "another", "<other-1@example.org>"));
        await SendMessageAsync(Message(address, "no id", null));
        await SendMessageAsync(Message(address, "no id", null));

        var subjects = await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count >= 4);
        Assert.Equal(["another", "no id", "no id", "sent twice"], subjects.Order());
        // The record of Message-IDs (and its lock folder) is kept in the mailbox's home, apart from the Maildir: there
        // every dot-name is a folder, and clients listed "dovecot.lda-dupes" and "dovecot.lda-dupes.locks".
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(servers.Parent.MailRoot, domain, "dana"), ".dovecot*"));
        Assert.True(File.Exists(Path.Combine(servers.ParentMailState, MailServerAdapter.HomesFolder, address, DovecotDuplicates.FileName)));
    }

    /// <summary>
    /// The same across a move: a message sent again after the switch reaches the new node. The mailbox's record of
    /// Message-IDs travels with it, so the new node keeps one; both ways.
    /// </summary>
    [Fact]
    public async Task AMessageDeliveredAgainAfterAMove_IsKeptOnce_OnTheNodeTheMailMovedTo()
    {
        var (name, _, address, password) = await servers.AccountAsync("erin");
        var again = Message(address, "sent before the move", "<again-1@example.org>");
        await SendMessageAsync(again);
        await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1);

        await servers.MoveAndWaitAsync(name, servers.ChildId);
        await SendMessageAsync(again, Child);
        await SendMessageAsync(Message(address, "on the child", "<child-1@example.org>"), Child);
        Assert.Equal(["on the child", "sent before the move"], (await EventuallyAsync(() => ImapSubjectsAsync(Child, address, password), s => s.Count >= 2)).Order());

        await SendMessageAsync(Message(address, "on the child", "<child-1@example.org>"), Child);
        await servers.MoveAndWaitAsync(name, null);
        await SendMessageAsync(Message(address, "on the child", "<child-1@example.org>"));
        await SendMessageAsync(again);
        await SendMessageAsync(Message(address, "home again", "<home-1@example.org>"));
        Assert.Equal(["home again", "on the child", "sent before the move"], (await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count >= 3)).Order());
    }

    /// <summary>
    /// A message the old node saved but never confirmed (its Dovecot stopped in the middle of the delivery) has no
    /// entry in its record, and Postfix tries it again later, after the move, at the new node. The final pass brings
    /// the saved copy and records its Message-ID there, so the second try is kept out. The saved copy is put in the
    /// child's Maildir by hand while the dedistribution waits before its switch.
    /// </summary>
    [Fact]
    public async Task AMessageTheOldNodeSavedWithoutConfirming_IsKeptOnce_WhenPostfixDeliversItAgainAfterTheMove()
    {
        var (name, domain, address, password) = await servers.AccountAsync("fay");
        await servers.MoveAndWaitAsync(name, servers.ChildId);
        var id = (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = (string?)null })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        (await servers.Parent.Api.PostAsync($"api/v1/operations/{id}/pause")).Expect(HttpStatusCode.NoContent);
        await servers.Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() == "Paused");

        var saved = Message(address, "saved, never confirmed", "<unconfirmed-1@example.org>");
        await saved.WriteToAsync(Path.Combine(servers.Child.MailRoot, domain, "fay", "new", $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.M1P1.child"));
        (await servers.Parent.Api.PostAsync($"api/v1/operations/{id}/resume")).Expect(HttpStatusCode.NoContent);
        var done = await servers.Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed");
        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());

        await SendMessageAsync(saved);
        await SendMessageAsync(Message(address, "after the move", "<after-1@example.org>"));
        Assert.Equal(["after the move", "saved, never confirmed"], (await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count >= 2)).Order());
    }

    private static MimeMessage Message(string to, string subject, string? messageId)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = subject };
        if (messageId is null)
        {
            message.Headers.Remove(HeaderId.MessageId);
        }
        else
        {
            message.MessageId = messageId.Trim('<', '>');
        }

        return message;
    }

    private static async Task SendMessageAsync(MimeMessage message, string host = Parent)
    {
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync(host, 25, SecureSocketOptions.None);
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }

    [Fact]
    public async Task AfterDistribution_TheParentProxiesAndRelaysToTheChild_AndTheDnsAnswersTheChild_ThenAllPointsBack()
    {
        var (name, domain, address, password) = await servers.AccountAsync();
        await SendAsync(Parent, address, "before the move");
        await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1);
        using var openBeforeTheSwitch = await ImapAsync(Parent, address, password);

        await servers.MoveAndWaitAsync(name, servers.ChildId);

        // The session opened at the parent was ended at the switch; a new login at the parent reaches the child.
        await Assert.ThrowsAnyAsync<Exception>(() => openBeforeTheSwitch.NoOpAsync());
        Assert.Equal(["before the move"], await ImapSubjectsAsync(Parent, address, password));
        Assert.Equal(1, await Pop3CountAsync(Parent, address, password));
        // The parent's proxy took both sessions on to the child in TLS: the password never crossed in clear.
        // (Until the test signs in at the child below, every login there for this mailbox came through the parent.)
        var proxied = servers.DovecotLog("child").Split('\n').Where(l => l.Contains($"Login: user=<{address}>", StringComparison.Ordinal)).ToList();
        Assert.Contains(proxied, l => l.Contains("imap-login:", StringComparison.Ordinal) && l.Contains(", TLS,", StringComparison.Ordinal));
        Assert.Contains(proxied, l => l.Contains("pop3-login:", StringComparison.Ordinal) && l.Contains(", TLS,", StringComparison.Ordinal));
        Assert.All(proxied, l => Assert.Contains(", TLS,", l, StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(servers.Parent.MailRoot, domain, "alice")), "the parent's copy was removed after the move");
        await SendAsync(Parent, address, "after the move");
        Assert.Equal(["after the move", "before the move"], (await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 2)).Order());
        Assert.Equal(2, Directory.GetFiles(Path.Combine(servers.Child.MailRoot, domain, "alice"), "*", SearchOption.AllDirectories).Count(f => f.Contains("/new/") || f.Contains("/cur/")));
        Assert.Equal(Child, await AddressAsync($"mail.{domain}"));
        Assert.Equal(Child, await AddressAsync($"webmail.{domain}"));
        Assert.Equal(Parent, await AddressAsync(domain));
        Assert.Equal($"mail.{domain}.", await MailExchangeAsync(domain));

        using var openOnTheChild = await ImapAsync(Child, address, password);
        await servers.MoveAndWaitAsync(name, null);

        await Assert.ThrowsAnyAsync<Exception>(() => openOnTheChild.NoOpAsync());
        Assert.Equal(Parent, await AddressAsync($"mail.{domain}"));
        Assert.Equal(Parent, await AddressAsync($"webmail.{domain}"));
        Assert.Equal(["after the move", "before the move"], (await ImapSubjectsAsync(Parent, address, password)).Order());
        await SendAsync(Parent, address, "back home");
        await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 3);
        Assert.Contains(Directory.GetFiles(Path.Combine(servers.Parent.MailRoot, domain, "alice"), "*", SearchOption.AllDirectories), f => f.Contains("/new/"));
    }

    /// <summary>
    /// An account's life on the real servers: moved to a new domain, its mail is served and received at its new
    /// addresses and its zone answers under the new name only; terminated, PowerDNS, Dovecot and Postfix forget it.
    /// </summary>
    [Fact]
    public async Task AnAccountMovedToANewDomain_IsServedThereOnly_AndOnceTerminated_TheServersForgetIt()
    {
        var (name, domain, address, password) = await servers.AccountAsync("dora");
        await SendAsync(Parent, address, "to the old domain");
        await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1);
        var newDomain = $"new-{domain}";
        var newAddress = $"dora@{newDomain}";
        using var openBeforeTheChange = await ImapAsync(Parent, address, password);

        (await servers.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain })).Expect(HttpStatusCode.OK);

        // A session opened with the old address ends: its folders moved.
        await Assert.ThrowsAnyAsync<Exception>(() => openBeforeTheChange.NoOpAsync());
        Assert.Equal(["to the old domain"], await ImapSubjectsAsync(Parent, newAddress, password));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, address, password));
        await SendAsync(Parent, newAddress, "to the new domain");
        Assert.Equal(["to the new domain", "to the old domain"], (await EventuallyAsync(() => ImapSubjectsAsync(Parent, newAddress, password), s => s.Count == 2)).Order());
        Assert.Equal(Parent, await EventuallyAsync(() => AddressAsync(newDomain), a => a is not null));
        Assert.Null(await EventuallyAsync(() => AddressAsync(domain), a => a is null));

        var id = (await servers.Parent.Api.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        var done = await servers.Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed");

        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
        Assert.Null(await AddressAsync(newDomain));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, newAddress, password));
        Assert.False(Directory.Exists(Path.Combine(servers.Parent.MailRoot, newDomain)));
    }

    /// <summary>
    /// A domain changed while PowerDNS is down: the change is made, and once PowerDNS is back the minute's job publishes
    /// the new zone and removes the old one, which would otherwise go on answering for an account that left it.
    /// </summary>
    [Fact]
    public async Task ADomainChangedWhilePowerDnsIsDown_HasItsOldZoneRemovedAndItsNewOnePublished_OncePowerDnsIsBack()
    {
        var (name, domain, _, _) = await servers.AccountAsync("gus");
        Assert.Equal(Parent, await EventuallyAsync(() => AddressAsync(domain), a => a is not null));
        var newDomain = $"new-{domain}";
        await servers.StopParentDnsAsync();
        try
        {
            (await servers.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain })).Expect(HttpStatusCode.OK);
        }
        finally
        {
            await servers.RestartParentServersAsync();
        }

        // Within the minute's job (and a margin).
        Assert.Null(await EventuallyAsync(() => AddressAsync(domain), a => a is null, TimeSpan.FromSeconds(90)));
        Assert.Equal(Parent, await EventuallyAsync(() => AddressAsync(newDomain), a => a is not null, TimeSpan.FromSeconds(90)));
        await using var db = TestDatabases.OpenContext(servers.Parent.ConnectionString);
        Assert.False(await db.DnsZoneRemovals.AnyAsync(r => r.Name == domain));
    }

    [Fact]
    public async Task AWrongPassword_AnUnknownUser_AreRefusedAtTheParentAndAtTheChild()
    {
        var (name, _, address, password) = await servers.AccountAsync("bob");
        var (_, _, localAddress, localPassword) = await servers.AccountAsync("carol");
        await servers.MoveAndWaitAsync(name, servers.ChildId);

        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, address, password + "x"));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Child, address, password + "x"));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, "nobody@" + address.Split('@')[1], password));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Child, "nobody@" + address.Split('@')[1], password));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, localAddress, localPassword + "x"));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, "nobody@nowhere.example.test", password));
        // The right ones still get in, through the parent.
        (await ImapAsync(Parent, address, password)).Dispose();
        (await ImapAsync(Parent, localAddress, localPassword)).Dispose();
    }

    /// <summary>Sends like an MTA: a temporary refusal (4xx) is tried again a little later; a permanent one fails the test.</summary>
    [Fact]
    public async Task WhenPowerDnsIsDown_TheMoveStopsAtTheSwitchSayingSo_AndARetryFinishesIt()
    {
        var (name, domain, address, password) = await servers.AccountAsync("frank");
        Assert.Equal(("Healthy", "Healthy", "Healthy"), await ServerHealthAsync(servers.Parent));
        await servers.StopParentDnsAsync();
        string id;
        try
        {
            // The node asks each server at most every few seconds (ServerCheckCache): the health endpoint says so by then.
            var health = await ServerHealthAsync(servers.Parent);
            for (var waited = TimeSpan.Zero; health.PowerDns != "Degraded" && waited < ServerCheckCache.Lifetime * 2; waited += TimeSpan.FromMilliseconds(250))
            {
                await Task.Delay(250);
                health = await ServerHealthAsync(servers.Parent);
            }

            Assert.Equal(("Healthy", "Healthy", "Degraded"), health);
            id = (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = servers.ChildId })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
            var failed = await servers.Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Failed" or "Succeeded");

            var log = (await servers.Parent.Api.GetAsync($"api/v1/operations/{id}/log")).Text;
            Assert.Equal("Failed", failed.GetProperty("state").GetString());
            Assert.Contains("PowerDNS", log);
            // The switch was committed before DNS failed: nothing may be undone, and the admin is told to retry.
            Assert.Contains("stopped after the switch", log);

            // The admins' alerts came by email through the parent's own Postfix, into a mailbox it serves.
            var alerts = await EventuallyAsync(
                () => ImapSubjectsAsync(MailServersFixture.ParentAddress, MailServersFixture.AlertsAddress, MailServersFixture.AlertsPassword),
                subjects => subjects.Any(s => s.Contains("PowerDNS is not answering", StringComparison.Ordinal)) && subjects.Any(s => s.Contains(name, StringComparison.Ordinal)));
            Assert.Contains(alerts, s => s == "[Portal mparent] PowerDNS is not answering");
            Assert.Contains(alerts, s => s.StartsWith("[Portal mparent]", StringComparison.Ordinal) && s.Contains(name, StringComparison.Ordinal));
        }
        finally
        {
            await servers.RestartParentServersAsync();
        }

        (await servers.Parent.Api.PostAsync($"api/v1/operations/{id}/retry")).Expect(HttpStatusCode.Accepted);
        await servers.Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() != "Failed");
        var retried = await servers.Parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Failed" or "Succeeded");
        Assert.True(retried.GetProperty("state").GetString() == "Succeeded", (await servers.Parent.Api.GetAsync($"api/v1/operations/{id}/log")).Text);
        Assert.Equal(Child, await AddressAsync($"mail.{domain}"));
        (await ImapAsync(Parent, address, password)).Dispose();
    }

    [Fact]
    public async Task AMoveBack_WhileTheChildsMailServersAreStopped_Finishes_AndTheChildSendsItsMailHereOnceTheyStart()
    {
        var (name, _, address, password) = await servers.AccountAsync("grace");
        await SendAsync(Parent, address, "before the moves");
        await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1);
        await servers.MoveAndWaitAsync(name, servers.ChildId);

        await servers.StopMailServersAsync("child");
        try
        {
            // The child's Postfix has nothing to reload: its route to the parent is in its maps when it starts.
            await servers.MoveAndWaitAsync(name, null);
        }
        finally
        {
            await servers.StartMailServersAsync("child");
        }

        Assert.Equal(["before the moves"], await ImapSubjectsAsync(Parent, address, password));
        // A sender whose DNS answer still named the child: the child relays to the parent.
        await SendAsync(Child, address, "sent to the child");
        Assert.Equal(["before the moves", "sent to the child"], (await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 2)).Order());
    }

    [Fact]
    public async Task ASuspendedAccount_KeepsReceivingMail_ButNobodySignsIn_AndItsOpenSessionEnds()
    {
        var (name, _, address, password) = await servers.AccountAsync("dave");
        using var open = await ImapAsync(Parent, address, password);
        await open.Inbox.OpenAsync(FolderAccess.ReadOnly);

        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}", new { status = "Suspended", suspensionReason = "Invoice 42 is unpaid." })).Expect(HttpStatusCode.OK);

        // The session that was open is ended; a new login is refused, saying why.
        Assert.True(await EventuallyAsync(async () =>
        {
            try
            {
                await open.NoOpAsync();
                return false;
            }
            catch (Exception ex) when (ex is IOException or ImapProtocolException or ImapCommandException or ServiceNotConnectedException)
            {
                return true;
            }
        }, ended => ended), "The IMAP session opened before the suspension is still served.");
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, address, password));
        Assert.Contains("suspended", refused.Message, StringComparison.OrdinalIgnoreCase);
        // Mail for it is accepted and kept (the parent's default), for when the account is active again.
        await SendAsync(Parent, address, "while suspended");

        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}", new { status = "Active" })).Expect(HttpStatusCode.OK);
        Assert.Equal(["while suspended"], await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1));
    }

    [Fact]
    public async Task ANodeSetToRefuseASuspendedAccountsMail_AnswersSendersAtOnceWithAPermanentPlainReason()
    {
        var (name, _, address, password) = await servers.AccountAsync("fay");
        await servers.MoveAndWaitAsync(name, servers.ChildId);

        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}", new { status = "Suspended" })).Expect(HttpStatusCode.OK);

        // The child's Postfix takes the new map with its next SMTP session (a few seconds at most).
        var refused = await EventuallyAsync(async () =>
        {
            try
            {
                await SendAsync(Child, address, "refused");
                return null;
            }
            catch (SmtpCommandException ex)
            {
                return ex;
            }
        }, ex => ex is not null);
        Assert.Equal(550, (int)refused!.StatusCode);
        Assert.Contains("the account is suspended", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, address, password));
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Child, address, password));

        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}", new { status = "Active" })).Expect(HttpStatusCode.OK);
        await SendAsync(Child, address, "accepted again");
        Assert.Equal(["accepted again"], await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 1));
    }

    /// <summary>
    /// Four senders deliver as fast as the parent's Postfix takes mail across every switch of every move kind here (to a
    /// child, from child to child, back to the parent) while a client reads: every message arrives, and only once. A
    /// reload of Dovecot at a switch used to answer a delivery LMTP had already saved "421 Shutting down", and Postfix
    /// delivered it again through the new route.
    /// </summary>
    [Fact]
    public async Task AtAHighDeliveryRate_EveryMessageArrivesExactlyOnce_AcrossEverySwitchOfEveryMoveKind_WhileAClientReads()
    {
        var (name, domain, address, password) = await servers.AccountAsync("erin");
        using var stop = new CancellationTokenSource();
        var (senders, sent) = SteadyStream(Parent, address, "m", stop.Token);
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await ImapSubjectsAsync(Parent, address, password);
                    reads++;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A session ended at a switch, or a login while the proxy changes: a client reconnects.
                }

                await Task.Delay(200);
            }
        });

        var started = DateTime.UtcNow;
        foreach (var node in new string?[] { servers.ChildId, servers.SecondChildId, null })
        {
            await Task.Delay(1000);
            await servers.MoveAndWaitAsync(name, node);
        }

        await Task.Delay(1000);
        await stop.CancelAsync();
        await Task.WhenAll([.. senders, reader]);
        var rate = sent.Count / (DateTime.UtcNow - started).TotalSeconds;

        var found = await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count >= sent.Count, TimeSpan.FromSeconds(60));
        Assert.True(rate > 20, $"only {rate:F0} messages a second were sent");
        Assert.True(reads > 5, $"the client read only {reads} times");
        Assert.Empty(found.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => $"{g.Key} x{g.Count()}"));
        Assert.Equal(sent.Order(), found.Order());
    }

    /// <summary>
    /// Every change of the node's mail users (here another account's password, 6 times) used to reload Dovecot, which
    /// answered LMTP deliveries it had already saved "421 Shutting down": Postfix delivered them again. Now Dovecot
    /// reads its changed passwd-file by itself, and mail flowing in meanwhile arrives once; the new password works at
    /// once, the old one no longer does.
    /// </summary>
    [Fact]
    public async Task WhileAnotherAccountsPasswordChangesAgainAndAgain_MailFlowingInArrivesExactlyOnce_AndEachNewPasswordWorksAtOnce()
    {
        var (_, _, address, password) = await servers.AccountAsync("fred");
        var (other, _, otherAddress, _) = await servers.AccountAsync("olga");
        using var stop = new CancellationTokenSource();
        var (senders, sent) = SteadyStream(Parent, address, "p", stop.Token);

        var passwords = Enumerable.Range(0, 6).Select(i => $"olga-{i:D2}-Kq7vZp3xWm9t").ToList();
        foreach (var next in passwords)
        {
            (await servers.Parent.Api.PutAsync($"api/v1/accounts/{other}/mail/addresses/{otherAddress}/password", new { password = next })).Expect(HttpStatusCode.NoContent);
            using var imap = await ImapAsync(Parent, otherAddress, next);
            await imap.DisconnectAsync(true);
        }

        // Once is enough (Dovecot slows down repeated failed logins from one address, by design).
        await Assert.ThrowsAsync<AuthenticationException>(() => ImapAsync(Parent, otherAddress, passwords[^2]));
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        var found = await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count >= sent.Count, TimeSpan.FromSeconds(60));
        Assert.True(sent.Count > 200, $"only {sent.Count} messages were sent");
        Assert.Empty(found.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => $"{g.Key} x{g.Count()}"));
        Assert.Equal(sent.Order(), found.Order());
    }

    [Fact]
    public async Task AMailClient_FindsTheSameUidsKeywordsSubscriptionsAndUidls_AfterAMoveAndBack_WithMailArrivingMeanwhile()
    {
        var (name, _, address, password) = await servers.AccountAsync("gina");
        for (var i = 0; i < 4; i++)
        {
            await SendAsync(Parent, address, $"old-{i}");
        }

        await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == 4);
        using (var imap = await ImapAsync(Parent, address, password))
        {
            // What a user does in a mail client: a keyword on a message, a message kept in Sent, a folder subscribed.
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            var first = (await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("old-1")))[0];
            await imap.Inbox.StoreAsync(first, new StoreFlagsRequest(StoreAction.Add, MessageFlags.Flagged) { Keywords = { "project-x" } });
            var sent = await imap.GetFolderAsync("Sent");
            await sent.SubscribeAsync();
            await sent.AppendAsync(new AppendRequest(Message("sent-0")));
            await imap.DisconnectAsync(true);
        }

        var before = await ClientViewAsync(Parent, address, password);
        await Pop3UidlsAsync(Parent, address, password);

        foreach (var (node, arriving) in new[] { (servers.ChildId, "during-out"), ((string?)null, "during-back") })
        {
            var moving = servers.MoveAndWaitAsync(name, node);
            await SendAsync(Parent, address, arriving);
            await moving;
            var after = await EventuallyAsync(() => ClientViewAsync(Parent, address, password), v => v.Messages.ContainsKey(("INBOX", arriving)));

            // Every folder keeps its UIDVALIDITY, every message its UID and keywords; what arrived meanwhile comes after them.
            Assert.Equal(before.UidValidity, after.UidValidity);
            foreach (var (key, message) in before.Messages)
            {
                Assert.Equal(message, after.Messages[key]);
            }

            Assert.All(after.Messages.Where(m => !before.Messages.ContainsKey(m.Key)),
                m => Assert.True(m.Value.Uid > before.Messages.Where(b => b.Key.Folder == m.Key.Folder).Max(b => b.Value.Uid), $"{m.Key} got UID {m.Value.Uid}"));
            Assert.Equal(before.Subscribed, after.Subscribed);
            Assert.Contains("project-x", after.Messages[("INBOX", "old-1")].Keywords);
            Assert.Empty(before.Uidls.Except(after.Uidls));
            before = after;
        }
    }

    /// <summary>What a mail client keeps of a mailbox: per folder its UIDVALIDITY, each message's UID and keywords, the subscriptions, the POP3 UIDLs.</summary>
    private sealed record ClientView(
        IReadOnlyDictionary<string, uint> UidValidity,
        IReadOnlyDictionary<(string Folder, string Subject), (uint Uid, string Keywords)> Messages,
        IReadOnlyList<string> Subscribed,
        IReadOnlySet<string> Uidls);

    private static async Task<ClientView> ClientViewAsync(string host, string user, string password)
    {
        using var imap = await ImapAsync(host, user, password);
        var validity = new SortedDictionary<string, uint>(StringComparer.Ordinal);
        var messages = new Dictionary<(string, string), (uint, string)>();
        foreach (var folder in new[] { imap.Inbox, await imap.GetFolderAsync("Sent") })
        {
            await folder.OpenAsync(FolderAccess.ReadOnly);
            validity[folder.FullName] = folder.UidValidity;
            if (folder.Count > 0)
            {
                foreach (var summary in await folder.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Envelope | MessageSummaryItems.Flags))
                {
                    messages[(folder.FullName, summary.Envelope?.Subject ?? "")] = (summary.UniqueId.Id, string.Join(",", summary.Keywords.Order(StringComparer.Ordinal)));
                }
            }

            await folder.CloseAsync();
        }

        var subscribed = (await imap.GetFoldersAsync(imap.PersonalNamespaces[0], StatusItems.None, subscribedOnly: true)).Select(f => f.FullName).Order(StringComparer.Ordinal).ToList();
        await imap.DisconnectAsync(true);
        return new ClientView(validity, messages, subscribed, await Pop3UidlsAsync(host, user, password));
    }

    private static async Task<IReadOnlySet<string>> Pop3UidlsAsync(string host, string user, string password)
    {
        using var pop3 = new Pop3Client();
        await pop3.ConnectAsync(host, 110, SecureSocketOptions.None);
        await pop3.AuthenticateAsync(user, password);
        var uidls = (await pop3.GetMessageUidsAsync()).ToHashSet(StringComparer.Ordinal);
        await pop3.DisconnectAsync(true);
        return uidls;
    }

    private static MimeMessage Message(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(MailboxAddress.Parse("someone@example.org"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = subject };
        return message;
    }

    /// <summary>What the node's health endpoint says of its Dovecot, Postfix and PowerDNS.</summary>
    private static async Task<(string? Dovecot, string? Postfix, string? PowerDns)> ServerHealthAsync(PortalNode node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseUrl };
        var checks = JsonDocument.Parse(await http.GetStringAsync("healthz")).RootElement.GetProperty("checks");
        string? Status(string name) => checks.TryGetProperty(name, out var check) ? check.GetProperty("status").GetString() : null;
        return (Status("dovecot"), Status("postfix"), Status("powerdns"));
    }

    private static async Task<int> Pop3CountAsync(string host, string user, string password)
    {
        using var pop3 = new Pop3Client();
        await pop3.ConnectAsync(host, 110, SecureSocketOptions.None);
        await pop3.AuthenticateAsync(user, password);
        var count = pop3.Count;
        await pop3.DisconnectAsync(true);
        return count;
    }

    private static LookupClient Dns => new(new LookupClientOptions(new NameServer(IPAddress.Parse(Parent), 53)) { UseCache = false, Retries = 0, Timeout = TimeSpan.FromSeconds(2) });

    private static async Task<string?> AddressAsync(string name) =>
        (await Dns.QueryAsync(name, QueryType.A)).Answers.ARecords().SingleOrDefault()?.Address.ToString();

    private static async Task<string?> MailExchangeAsync(string domain) =>
        (await Dns.QueryAsync(domain, QueryType.MX)).Answers.MxRecords().SingleOrDefault()?.Exchange.Value;
}
