namespace Portal.Jobs.Mail;

/// <summary>
/// A mailbox this node serves, as the IMAP server needs it. <paramref name="LoginRefused"/>: its account is suspended,
/// so mail is delivered into it but nobody signs in. <paramref name="Sieve"/>: its autoresponder and filters as a
/// Sieve script (<see cref="SieveScript.Render"/>), null when it has none.
/// </summary>
public sealed record MailUser(string Address, string PasswordHash, string MaildirPath, long QuotaBytes, bool LoginRefused = false, string? Sieve = null);

/// <summary>A forwarder: to an address, or (pipe) to a program.</summary>
public sealed record MailForward(string Source, string Destination, bool IsPipe, bool Enabled);

/// <summary>A domain whose mail another node serves: IMAP/POP3 are proxied and SMTP relayed there.</summary>
public sealed record MailRoute(string Domain, string NodeAddress);

/// <summary>
/// Everything this node's mail servers need to know, rebuilt from the database and published whole.
/// <paramref name="RefusedDomains"/>: the domains of suspended accounts whose mail this node refuses (Portal:Mail:SuspendedAccountMail).
/// </summary>
public sealed record MailState(
    IReadOnlyList<string> LocalDomains,
    IReadOnlyList<MailUser> Users,
    IReadOnlyList<MailForward> Forwards,
    IReadOnlyList<MailRoute> Routes,
    IReadOnlyList<string>? RefusedDomains = null,
    IReadOnlyList<MailSubmitter>? Submitters = null);

/// <summary>
/// A mailbox another node serves that may send through this one (SMTP AUTH): a parent's distributed mailbox, with the
/// password hash its child confirmed.
/// </summary>
public sealed record MailSubmitter(string Address, string PasswordHash);

public sealed class MailServerAdapterSettings
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

    /// <summary>postmap, to compile the Postfix maps after each publication; empty when this node runs no Postfix.</summary>
    public string? Postmap { get; set; }

    /// <summary>The Postfix configuration folder (<c>postmap -c DIR</c>).</summary>
    public string? PostfixConfig { get; set; }

    /// <summary>nginx, which serves the webmail (reloaded for its certificates); empty when this node serves no webmail.</summary>
    public string? Nginx { get; set; }

    /// <summary>The configuration file of this node's nginx (<c>nginx -c FILE</c>).</summary>
    public string? NginxConfig { get; set; }

    /// <summary>How long one run of doveadm, postfix or postmap may take before it is stopped (with what it started).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Run doveadm and postfix (not postmap, which only writes Portal's own maps) through <c>sudo -n</c>: a node that
    /// runs as its own unprivileged user is allowed exactly those commands by deploy/sudoers.
    /// </summary>
    public bool Sudo { get; set; }
}

public sealed record SessionEnding(string Address, bool Ran, IReadOnlyList<string> Commands);
