using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Portal.Jobs.Mail;

/// <summary>A mailbox this node serves, as the IMAP server needs it.</summary>
public sealed record MailUser(string Address, string PasswordHash, string MaildirPath, long QuotaBytes);

/// <summary>A forwarder: to an address, or (pipe) to a program.</summary>
public sealed record MailForward(string Source, string Destination, bool IsPipe, bool Enabled);

/// <summary>A domain whose mail another node serves: IMAP/POP3 are proxied and SMTP relayed there.</summary>
public sealed record MailRoute(string Domain, string NodeAddress);

/// <summary>Everything this node's mail servers need to know, rebuilt from the database and published whole.</summary>
public sealed record MailState(
    IReadOnlyList<string> LocalDomains,
    IReadOnlyList<MailUser> Users,
    IReadOnlyList<MailForward> Forwards,
    IReadOnlyList<MailRoute> Routes);

public sealed class MailServicesSettings
{
    /// <summary>Folder the mail servers' files are written to (passwd-file, Postfix maps).</summary>
    public string StateDirectory { get; set; } = "/var/lib/portal/mail-state";

    /// <summary>The system user and group that own the Maildirs (Dovecot's <c>uid</c>/<c>gid</c> fields).</summary>
    public int Uid { get; set; } = 5000;

    public int Gid { get; set; } = 5000;

    /// <summary>doveadm, to end IMAP/POP3 sessions; empty when this node runs no Dovecot.</summary>
    public string? Doveadm { get; set; }

    /// <summary>The Dovecot configuration file doveadm talks to (<c>doveadm -c FILE</c>).</summary>
    public string? DovecotConfig { get; set; }
}

/// <summary>
/// The one adapter between Portal and the standard mail servers: it publishes the node's mail state in the files
/// Dovecot and Postfix read, and ends IMAP/POP3 sessions the way Dovecot does (<c>doveadm kick</c>). Files are
/// written to a temporary name and renamed into place, so a server never reads half a file.
/// </summary>
public sealed class MailServices(MailServicesSettings settings, ILogger<MailServices> logger)
{
    public const string PasswdFile = "dovecot-users";
    public const string ProxyFile = "dovecot-proxy-domains";
    public const string DomainsFile = "postfix-virtual-mailbox-domains";
    public const string MailboxMapFile = "postfix-virtual-mailbox-maps";
    public const string AliasMapFile = "postfix-virtual-alias-maps";
    public const string TransportFile = "postfix-transport";

    private readonly SemaphoreSlim _gate = new(1, 1);

    public string StateDirectory => settings.StateDirectory;

    public async Task PublishAsync(MailState state, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(settings.StateDirectory);
            await WriteAsync(PasswdFile, RenderPasswd(state), cancellationToken);
            await WriteAsync(ProxyFile, RenderProxies(state), cancellationToken);
            await WriteAsync(DomainsFile, RenderDomains(state), cancellationToken);
            await WriteAsync(MailboxMapFile, RenderMailboxMap(state), cancellationToken);
            await WriteAsync(AliasMapFile, RenderAliases(state), cancellationToken);
            await WriteAsync(TransportFile, RenderTransport(state), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Dovecot passwd-file of local users:
    /// <c>user:{SHA512-CRYPT}hash:uid:gid::home::userdb_mail=maildir:PATH userdb_quota_rule=*:bytes=N</c>.
    /// </summary>
    public string RenderPasswd(MailState state)
    {
        var text = new StringBuilder();
        foreach (var user in state.Users.OrderBy(u => u.Address, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{user.Address}:{user.PasswordHash}:{settings.Uid}:{settings.Gid}::{user.MaildirPath}::userdb_mail=maildir:{user.MaildirPath}");
            if (user.QuotaBytes > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $" userdb_quota_rule=*:bytes={user.QuotaBytes}");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// Dovecot passwd-file looked up by domain (<c>username_format=%d</c>): each domain another node serves is proxied
    /// there, and that node checks the password (<c>nopassword=y</c>, with an empty password field).
    /// </summary>
    public static string RenderProxies(MailState state) =>
        string.Concat(state.Routes.OrderBy(r => r.Domain, StringComparer.Ordinal)
            .Select(r => $"{r.Domain}::::::proxy=y host={r.NodeAddress} nopassword=y\n"));

    /// <summary>Postfix <c>virtual_mailbox_domains</c>: the domains whose mail is delivered here.</summary>
    public static string RenderDomains(MailState state) =>
        string.Concat(state.LocalDomains.Order(StringComparer.Ordinal).Select(d => $"{d} OK\n"));

    /// <summary>Postfix <c>virtual_mailbox_maps</c>: each local address and its Maildir (trailing slash: Maildir format).</summary>
    public static string RenderMailboxMap(MailState state) =>
        string.Concat(state.Users.OrderBy(u => u.Address, StringComparer.Ordinal).Select(u => $"{u.Address} {u.MaildirPath.TrimEnd('/')}/\n"));

    /// <summary>Postfix <c>virtual_alias_maps</c>: forwarders to addresses. Pipes are published as comments, for the admin.</summary>
    public static string RenderAliases(MailState state)
    {
        var text = new StringBuilder();
        foreach (var group in state.Forwards.Where(f => f.Enabled && !f.IsPipe).GroupBy(f => f.Source).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append(group.Key).Append(' ').AppendJoin(", ", group.Select(f => f.Destination).Order(StringComparer.Ordinal)).Append('\n');
        }

        foreach (var pipe in state.Forwards.Where(f => f.IsPipe).OrderBy(f => f.Source, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"# pipe ({(pipe.Enabled ? "enabled" : "disabled")}): {pipe.Source} |{pipe.Destination}\n");
        }

        return text.ToString();
    }

    /// <summary>Postfix <c>transport_maps</c>: a domain another node serves goes there over SMTP (<c>[ip]:25</c>, no MX lookup).</summary>
    public static string RenderTransport(MailState state) =>
        string.Concat(state.Routes.OrderBy(r => r.Domain, StringComparer.Ordinal).Select(r => $"{r.Domain} smtp:[{r.NodeAddress}]:25\n"));

    /// <summary>Ends a user's open IMAP/POP3 sessions (and, on a proxy, the proxied ones), so clients reconnect.</summary>
    public async Task<SessionEnding> EndSessionsAsync(string address, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(settings.Doveadm))
        {
            logger.LogInformation("No Dovecot on this node: no IMAP/POP3 sessions of {Address} to end", address);
            return new SessionEnding(address, Ran: false, []);
        }

        string[][] commands = [["kick", address], ["proxy", "kick", address]];
        var ran = new List<string>();
        foreach (var command in commands)
        {
            var args = settings.DovecotConfig is { Length: > 0 } config ? ["-c", config, .. command] : command;
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(settings.Doveadm, args)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            }) ?? throw new InvalidOperationException($"Could not run {settings.Doveadm}.");
            await process.WaitForExitAsync(cancellationToken);
            // doveadm answers 68 ("no user") when there was nothing to kick; anything else above 1 is a real failure.
            if (process.ExitCode is not (0 or 68))
            {
                var error = await process.StandardError.ReadToEndAsync(cancellationToken);
                throw new InvalidOperationException($"doveadm {string.Join(' ', command)} failed ({process.ExitCode}): {error.Trim()}");
            }

            ran.Add(string.Join(' ', command));
        }

        return new SessionEnding(address, Ran: true, ran);
    }

    private async Task WriteAsync(string name, string content, CancellationToken ct)
    {
        var path = Path.Combine(settings.StateDirectory, name);
        var tmp = path + ".tmp-" + Environment.ProcessId;
        await File.WriteAllTextAsync(tmp, content, new UTF8Encoding(false), ct);
        File.Move(tmp, path, overwrite: true);
    }
}

public sealed record SessionEnding(string Address, bool Ran, IReadOnlyList<string> Commands);
