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

public sealed record SessionEnding(string Address, bool Ran, IReadOnlyList<string> Commands);
