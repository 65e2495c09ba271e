using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

using static Portal.Tests.MailServers.MailClients;

namespace Portal.Tests.MailServers;

/// <summary>
/// Managing the mail on the real servers, as its users notice it: a full mailbox refuses mail while the sender is
/// still connected, wherever the mail lives and whichever node the sender talks to.
/// </summary>
[Collection(MailServersCollection.Name)]
[Trait("Category", "MailServers")]
public sealed class MailManagementServerTests(MailServersFixture servers)
{
    private const string Parent = MailServersFixture.ParentAddress;
    private const string Child = MailServersFixture.ChildAddress;

    /// <summary>
    /// A 1 MiB mailbox takes 400 KiB messages until the next one would pass its quota (and Dovecot's 10% grace); that
    /// one is refused at RCPT time with 552, so the sender knows at once and nothing bounces later. Raised, the quota
    /// lets mail in again at once. After the mail moved to a child, the child refuses it, and so does the parent
    /// (it asks the child's quota-status for the domains it relays there) rather than accepting and bouncing it.
    /// </summary>
    [Fact]
    public async Task AFullMailbox_RefusesMailAtRcptTime_HereAndThroughTheParentAfterAMove_UntilItsQuotaIsRaised()
    {
        var name = "mq" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        var address = $"quinn@{domain}";
        const string password = "quinn-Kq7vZp3xWm9t";
        (await servers.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
        (await servers.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "quinn", password, quotaMegabytes = 1 })).Expect(HttpStatusCode.Created);

        // 400 and 800 KiB are under 1 MiB; 1200 KiB would pass it and its 10% grace.
        var accepted = await FillAsync(Parent, address, password, "local", 0);
        Assert.Equal(2, accepted);

        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/quota", new { quotaMegabytes = 2 })).Expect(HttpStatusCode.NoContent);
        var total = await FillAsync(Parent, address, password, "raised", accepted);
        Assert.Equal(5, total);

        await servers.MoveAndWaitAsync(name, servers.ChildId);

        Assert.Equal(552, await TrySendAsync(Child, address, "to the child", 400));
        // The parent relays the domain: the child refuses the message at its RCPT, and the parent returns it to the
        // sender saying why (Postfix asks only this node's own quota-status at RCPT time).
        var returned = await ReturnedToAsync(address);
        Assert.Null(await TrySendAsync(Parent, address, "through the parent", 400, from: MailServersFixture.AlertsAddress));
        Assert.Equal(returned + 1, await EventuallyAsync(() => ReturnedToAsync(address), n => n > returned));
        // Through the parent, proxied to the child that serves the mailbox now.
        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/quota", new { quotaMegabytes = 3 })).Expect(HttpStatusCode.NoContent);
        Assert.Null(await TrySendAsync(Parent, address, "after raising on the child", 400));
        Assert.Contains("after raising on the child", await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, password), s => s.Count == total + 1));
        Assert.Equal(total + 1, (await ImapSubjectsAsync(Child, address, password)).Count);
    }

    /// <summary>
    /// A mailbox's autoresponder answers a sender once (the reply reaches the sender's mailbox), and its filter files
    /// a message into a folder; after the mail moved to the child, both go on there, and a sender already answered
    /// before the move is not answered again (the record of whom it answered travels with the mail).
    /// </summary>
    [Fact]
    public async Task AnAutoresponderAnswersEachSenderOnce_AndAFilterFilesAMessage_BeforeAndAfterAMove()
    {
        var (name, domain, address, password) = await servers.AccountAsync("vera");
        var (sam, samPassword) = await SenderOnTheChildAsync("sam");
        var (tom, tomPassword) = await SenderOnTheChildAsync("tom");
        var away = $"Away {name}";
        var sieve = new
        {
            vacation = new { enabled = true, subject = away, body = "Back on \"Monday\".\nUrgent: call the office.", days = 1 },
            filters = new[] { new { field = "subject", match = "contains", value = "invoice", action = "move", target = "Invoices" } },
        };
        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/sieve", sieve)).Expect(HttpStatusCode.OK);

        // One at a time: Dovecot keeps what Sieve recorded in one file per mailbox, and two deliveries to the same
        // mailbox at the same moment can each write it without the other's entry.
        await SendFromAsync(sam, address, "hello before");
        Assert.Equal(1, await EventuallyAsync(() => CountAsync(Child, sam, samPassword, "INBOX", away), n => n == 1));
        await SendFromAsync(sam, address, "Invoice 41");
        Assert.Equal(["Invoice 41"], await EventuallyAsync(() => SubjectsAsync(Parent, address, password, "Invoices"), s => s.Count == 1));
        Assert.Equal(["hello before"], await SubjectsAsync(Parent, address, password, "INBOX"));

        await servers.MoveAndWaitAsync(name, servers.ChildId);

        await SendFromAsync(sam, address, "hello after");
        await EventuallyAsync(() => SubjectsAsync(Child, address, password, "INBOX"), s => s.Count == 2);
        await SendFromAsync(tom, address, "hello from tom");
        Assert.Equal(1, await EventuallyAsync(() => CountAsync(Child, tom, tomPassword, "INBOX", away), n => n == 1));
        await SendFromAsync(tom, address, "Invoice 42");
        Assert.Equal(["Invoice 41", "Invoice 42"], (await EventuallyAsync(() => SubjectsAsync(Child, address, password, "Invoices"), s => s.Count == 2)).Order());
        Assert.Equal(3, (await EventuallyAsync(() => SubjectsAsync(Child, address, password, "INBOX"), s => s.Count == 3)).Count);
        Assert.Equal(1, await CountAsync(Child, sam, samPassword, "INBOX", away));
        var reply = await FirstAsync(Child, tom, tomPassword, away);
        Assert.Contains("Back on \"Monday\".", reply.TextBody, StringComparison.Ordinal);
    }

    /// <summary>
    /// A mailbox's user sends with SMTP AUTH on 587 (STARTTLS) and 465 (TLS), at the parent while the mail is there, and
    /// after it moved to the child at both: the parent takes the password the child confirmed, and a password changed
    /// through the parent works at once while the old one no longer does. Nobody sends without signing in, as another
    /// domain, or relays through port 25 from outside.
    /// </summary>
    [Fact]
    public async Task AMailboxSendsWithSmtpAuth_AtTheParentBeforeAndAfterAMove_AndNobodyRelaysWithoutIt()
    {
        var (name, domain, address, password) = await servers.AccountAsync("sid");
        var ops = MailServersFixture.AlertsAddress;
        var subject = $"submitted {name}";

        await SubmitAsync(Parent, 587, address, password, address, ops, subject + " 587");
        await SubmitAsync(Parent, 465, address, password, address, ops, subject + " 465");
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => SubmitAsync(Parent, 587, address, password, "ceo@other.example.org", ops, "forged"));
        Assert.Contains("not owned by user", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AuthenticationException>(() => SubmitAsync(Parent, 587, address, "wrong-password-123", address, ops, "wrong"));
        var relay = await Assert.ThrowsAsync<SmtpCommandException>(() => SendFromOutsideAsync(Parent, 25, address, "victim@elsewhere.example.org"));
        Assert.Contains("Relay access denied", relay.Message, StringComparison.Ordinal);
        var unauthenticated = await Assert.ThrowsAsync<SmtpCommandException>(() => SendFromOutsideAsync(Parent, 587, address, ops));
        Assert.Contains("Access denied", unauthenticated.Message, StringComparison.Ordinal);

        await servers.MoveAndWaitAsync(name, servers.ChildId);

        await SubmitAsync(Parent, 587, address, password, address, ops, subject + " via parent");
        // At the child itself (mail.<domain> points there), to a mailbox it serves: this test's nodes reach no other.
        await SubmitAsync(Child, 587, address, password, address, address, subject + " via child");
        const string newPassword = "sid-new-Kq7vZp3xWm9t";
        (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/password", new { password = newPassword })).Expect(HttpStatusCode.NoContent);
        await Assert.ThrowsAsync<AuthenticationException>(() => SubmitAsync(Parent, 587, address, password, address, ops, "old password"));
        await SubmitAsync(Parent, 465, address, newPassword, address, ops, subject + " new password");

        var received = await EventuallyAsync(() => ImapSubjectsAsync(Parent, ops, MailServersFixture.AlertsPassword), s => s.Count(x => x.StartsWith(subject, StringComparison.Ordinal)) == 4);
        Assert.Equal([subject + " 465", subject + " 587", subject + " new password", subject + " via parent"], received.Where(x => x.StartsWith(subject, StringComparison.Ordinal)).Order());
        Assert.Contains(subject + " via child", await EventuallyAsync(() => ImapSubjectsAsync(Parent, address, newPassword), s => s.Contains(subject + " via child")));
    }

    /// <summary>
    /// A mailbox sends as many messages as the node allows in an hour; the next one waits (450, the mail program keeps
    /// it and tries later), saying why, and another mailbox is not held back by it.
    /// </summary>
    [Fact]
    public async Task AMailboxSendingMoreThanItsHourlyLimit_IsToldToWait_AndOtherMailboxesAreNotHeldBack()
    {
        var (_, _, address, password) = await servers.AccountAsync("rob");
        var (_, _, other, otherPassword) = await servers.AccountAsync("ria");
        for (var i = 0; i < MailServersFixture.SendLimitPerHour; i++)
        {
            await SubmitAsync(Parent, 587, address, password, address, MailServersFixture.AlertsAddress, $"limit {address} {i}");
        }

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => SubmitAsync(Parent, 587, address, password, address, MailServersFixture.AlertsAddress, "one too many"));
        Assert.Equal(450, (int)refused.StatusCode);
        Assert.Contains($"{address} has sent {MailServersFixture.SendLimitPerHour} message(s)", refused.Message, StringComparison.Ordinal);
        await SubmitAsync(Parent, 465, other, otherPassword, other, MailServersFixture.AlertsAddress, $"limit {other}");
        var received = await EventuallyAsync(() => ImapSubjectsAsync(Parent, MailServersFixture.AlertsAddress, MailServersFixture.AlertsPassword),
            s => s.Count(x => x.StartsWith("limit ", StringComparison.Ordinal) && (x.Contains(address, StringComparison.Ordinal) || x.Contains(other, StringComparison.Ordinal))) == MailServersFixture.SendLimitPerHour + 1);
        Assert.DoesNotContain("one too many", received);
    }

    /// <summary>Sends one message with SMTP AUTH; 465 is TLS from the start, 587 STARTTLS. The test instance's certificate is self-signed.</summary>
    private static async Task SubmitAsync(string host, int port, string user, string password, string from, string to, string subject)
    {
        var message = Message(from, to, subject);
        using var smtp = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await smtp.ConnectAsync(host, port, port == 465 ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls);
        await smtp.AuthenticateAsync(user, password);
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }

    /// <summary>A client from outside the node (another address than its own and 127.0.0.1), without signing in.</summary>
    private static async Task SendFromOutsideAsync(string host, int port, string from, string to)
    {
        var message = Message(from, to, "from outside");
        using var smtp = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, LocalEndPoint = new IPEndPoint(IPAddress.Parse("127.0.0.99"), 0) };
        await smtp.ConnectAsync(host, port, port == 25 ? SecureSocketOptions.None : SecureSocketOptions.StartTls);
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }

    /// <summary>A mailbox on the child (its account distributed there), to send from and receive replies in.</summary>
    private async Task<(string Address, string Password)> SenderOnTheChildAsync(string local)
    {
        var name = "ms" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        var password = $"{local}-Kq7vZp3xWm9t";
        (await servers.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}", mailRouting = new { kind = "Node", nodeId = servers.ChildId } })).Expect(HttpStatusCode.Created);
        (await servers.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = local, password })).Expect(HttpStatusCode.Created);
        return ($"{local}@{domain}", password);
    }

    private static async Task SendFromAsync(string from, string to, string subject)
    {
        var message = Message(from, to, subject);
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync(Parent, 25, SecureSocketOptions.None);
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }

    private static async Task<List<string>> SubjectsAsync(string host, string user, string password, string folder)
    {
        using var imap = await ImapAsync(host, user, password);
        var box = folder == "INBOX" ? imap.Inbox : await imap.GetFolderAsync(folder);
        await box.OpenAsync(FolderAccess.ReadOnly);
        var subjects = box.Count == 0 ? [] : (await box.FetchAsync(0, -1, MessageSummaryItems.Envelope)).Select(m => m.Envelope?.Subject ?? "").ToList();
        await imap.DisconnectAsync(true);
        return subjects;
    }

    private static async Task<int> CountAsync(string host, string user, string password, string folder, string subject) =>
        (await SubjectsAsync(host, user, password, folder)).Count(s => s == subject);

    private static async Task<MimeMessage> FirstAsync(string host, string user, string password, string subject)
    {
        using var imap = await ImapAsync(host, user, password);
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var summaries = await imap.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope | MessageSummaryItems.UniqueId);
        var message = await imap.Inbox.GetMessageAsync(summaries.First(m => m.Envelope?.Subject == subject).UniqueId);
        await imap.DisconnectAsync(true);
        return message;
    }

    /// <summary>How many messages the parent returned to the alerts mailbox saying <paramref name="address"/> is full.</summary>
    private static async Task<int> ReturnedToAsync(string address)
    {
        using var imap = await ImapAsync(Parent, MailServersFixture.AlertsAddress, MailServersFixture.AlertsPassword);
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var returned = 0;
        for (var i = 0; i < imap.Inbox.Count; i++)
        {
            var text = (await imap.Inbox.GetMessageAsync(i)).ToString();
            if (text.Contains(address, StringComparison.Ordinal) && text.Contains("552 5.2.2", StringComparison.Ordinal))
            {
                returned++;
            }
        }

        await imap.DisconnectAsync(true);
        return returned;
    }

    /// <summary>
    /// Sends 400 KiB messages, each once the last is in the mailbox, until one is refused (552); returns how many the
    /// mailbox then holds. (Sent without waiting, several are accepted before the first is delivered: those are kept
    /// in Postfix's queue until the mailbox has room, not bounced.)
    /// </summary>
    private static async Task<int> FillAsync(string host, string to, string password, string prefix, int holding)
    {
        for (var i = 0; i < 10; i++)
        {
            if (await TrySendAsync(host, to, $"{prefix} {i}", 400) is { } refused)
            {
                Assert.Equal(552, refused);
                return holding;
            }

            holding++;
            Assert.Equal(holding, (await EventuallyAsync(() => ImapSubjectsAsync(host, to, password), s => s.Count == holding)).Count);
        }

        throw new Xunit.Sdk.XunitException($"{to} took 10 messages of 400 KiB: its quota is not enforced.");
    }

    /// <summary>Sends one message of about <paramref name="kib"/> KiB; null when taken, else the SMTP status of the refusal.</summary>
    private static async Task<int?> TrySendAsync(string host, string to, string subject, int kib, string from = "sender@example.org")
    {
        var line = new string('x', 76) + "\r\n";
        return await MailClients.TrySendAsync(host, Message(from, to, subject, string.Concat(Enumerable.Repeat(line, kib * 1024 / line.Length))));
    }
}
