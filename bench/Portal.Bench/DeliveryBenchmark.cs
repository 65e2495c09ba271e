using System.Diagnostics;
using System.Globalization;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Portal.Tests.Support;

namespace Portal.Bench;

/// <summary>
/// How fast real Postfix and Dovecot (<c>scripts/mail-servers</c>, as a node runs them) take mail into a large mailbox,
/// with the quota checks a node makes (Dovecot's quota plugin at delivery and its quota-status service, which Postfix
/// asks at RCPT), against the same servers without any quota check, in the same run. Also the "count" quota backend,
/// which Portal used first: it reads the mailbox's listing at every check. Arguments: --messages=N (20,000 already in
/// the mailbox), --send=N (1,000 sent per configuration). Needs the real mail servers and root.
/// </summary>
internal static class DeliveryBenchmark
{
    private const string Address = "127.0.0.45";
    private const string Mailbox = "carl@delivery.bench";
    private const int Senders = 12;

    public static async Task RunAsync(string[] args)
    {
        var existing = BenchTools.Option(args, "--messages=") ?? 20_000;
        var send = BenchTools.Option(args, "--send=") ?? 1_000;
        var folder = Path.Combine(TestEnvironment.RunFolder, "delivery");
        var state = Path.Combine(folder, "mail-state");
        var maildir = Path.Combine(folder, "mail", "delivery.bench", "carl");
        var servers = Path.Combine(folder, "servers");
        Directory.CreateDirectory(state);
        new MailGenerator(7).Fill(maildir, existing, minKb: 2, maxKb: 20);
        // What Portal would publish for one mailbox with a 10 GiB quota (scripts/mail-servers makes the other files).
        File.WriteAllText(Path.Combine(state, "dovecot-users"),
            $"{Mailbox}:{{PLAIN}}unused:5000:5000::{state}/home/{Mailbox}::userdb_mail=maildir:{maildir} userdb_quota_rule=*:bytes={10L << 30}\n");
        File.WriteAllText(Path.Combine(state, "dovecot-proxy-domains"), "");
        File.WriteAllText(Path.Combine(state, "dovecot-submission-users"), "");
        File.WriteAllText(Path.Combine(state, "postfix-virtual-mailbox-domains"), "delivery.bench OK\n");
        File.WriteAllText(Path.Combine(state, "postfix-virtual-mailbox-maps"), $"{Mailbox} {maildir}/\n");
        var script = Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "mail-servers");
        await BenchTools.ShellAsync($"'{script}' grant '{Path.Combine(folder, "mail")}' && '{script}' start delivery {Address} '{servers}' '{state}' >/dev/null");
        Console.WriteLine($"delivery: {send} messages of 3 KiB, {Senders} SMTP clients at once, into a mailbox that holds {existing:N0}");
        try
        {
            var dovecotConf = Path.Combine(servers, "dovecot", "dovecot.conf");
            var mainCf = Path.Combine(servers, "postfix", "main.cf");
            var (dovecot, postfix) = (File.ReadAllText(dovecotConf), File.ReadAllText(mainCf));
            var configurations = new (string Name, string Dovecot, string Postfix)[]
            {
                ("no quota checks (baseline)", WithoutQuota(dovecot), WithoutPolicy(postfix)),
                ("Portal's: maildir backend, quota-status at RCPT", dovecot, postfix),
                ("count backend, quota-status at RCPT (before)", dovecot.Replace("quota = maildir:Mailbox", "quota = count:Mailbox\n  quota_vsizes = yes", StringComparison.Ordinal), postfix),
            };
            double? baseline = null;
            foreach (var (name, dovecotText, postfixText) in configurations)
            {
                File.WriteAllText(dovecotConf, dovecotText);
                File.WriteAllText(mainCf, postfixText);
                await BenchTools.ShellAsync($"doveadm -c '{dovecotConf}' reload && postfix -c '{Path.GetDirectoryName(mainCf)}' reload 2>/dev/null && sleep 2");
                var (accepted, delivered) = await SendAsync(maildir, send);
                var rate = send / delivered.TotalSeconds;
                baseline ??= rate;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {name,-50} accepted at {send / accepted.TotalSeconds,5:0}/s, delivered at {rate,4:0}/s ({rate / baseline.Value:0.00}x the baseline)"));
            }
        }
        finally
        {
            await BenchTools.ShellAsync($"'{script}' stop '{servers}' >/dev/null");
        }
    }

    /// <summary>Dovecot with no quota plugin anywhere (and so no quota-status answers).</summary>
    private static string WithoutQuota(string conf) => conf
        .Replace("mail_plugins = $mail_plugins quota\n", "", StringComparison.Ordinal)
        .Replace(" imap_quota", "", StringComparison.Ordinal)
        .Replace("lmtp_rcpt_check_quota = yes", "lmtp_rcpt_check_quota = no", StringComparison.Ordinal);

    /// <summary>Postfix that does not ask the quota-status service at RCPT.</summary>
    private static string WithoutPolicy(string mainCf) => string.Join('\n', mainCf.Split('\n').Select(line =>
        line.StartsWith("smtpd_recipient_restrictions = ", StringComparison.Ordinal) ? line[..line.IndexOf(", check_policy_service", StringComparison.Ordinal)] : line));

    /// <summary>Sends <paramref name="count"/> messages through <see cref="Senders"/> clients; how long until all were accepted, and until all were in the Maildir.</summary>
    private static async Task<(TimeSpan Accepted, TimeSpan Delivered)> SendAsync(string maildir, int count)
    {
        var before = Count(maildir);
        var body = string.Concat(Enumerable.Repeat(new string('x', 76) + "\r\n", 40));
        var watch = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(_ => Task.Run(async () =>
        {
            using var smtp = new SmtpClient();
            await smtp.ConnectAsync(Address, 25, SecureSocketOptions.None);
            while (Interlocked.Increment(ref next) < count)
            {
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("sender@example.org"));
                message.To.Add(MailboxAddress.Parse(Mailbox));
                message.Subject = $"bench {next}";
                message.Body = new TextPart("plain") { Text = body };
                await smtp.SendAsync(message);
            }

            await smtp.DisconnectAsync(true);
        })));
        var accepted = watch.Elapsed;
        while (Count(maildir) < before + count)
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"only {Count(maildir) - before} of {count} messages were delivered within 10 minutes");
            }

            await Task.Delay(100);
        }

        return (accepted, watch.Elapsed);
    }

    private static int Count(string maildir) =>
        Directory.EnumerateFiles(Path.Combine(maildir, "new")).Count() + Directory.EnumerateFiles(Path.Combine(maildir, "cur")).Count();
}
