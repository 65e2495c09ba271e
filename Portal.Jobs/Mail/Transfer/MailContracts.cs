namespace Portal.Jobs.Mail;

// The mail functions' wire format: the public API, and the node API a parent uses for an account whose mail a
// child serves.

public sealed record EmailAccountRow(string Address, long QuotaBytes, long UsedBytes, long Messages, DateTimeOffset CreatedAt);

public sealed record NewEmailAccount(string LocalPart, string Password, int? QuotaMegabytes = null);

public sealed record PasswordChange(string Password);

/// <summary>A mailbox's new quota in MiB (0: none).</summary>
public sealed record QuotaChange(int QuotaMegabytes);

/// <summary>
/// A forwarder as listed. <paramref name="DisabledReason"/>: why a disabled one does not forward, in the words its
/// owner is shown (a pipe a move to a separate mail server turned off, or switched off by hand).
/// </summary>
public sealed record ForwarderRow(long Id, string Source, string Destination, bool IsPipe, bool Enabled, string? DisabledReason = null);

/// <summary>A forwarder's new destination (an address, or for a pipe a program) and whether it forwards.</summary>
public sealed record ForwarderChange(string Destination, bool Enabled);

public sealed record NewForwarder(string LocalPart, string Destination, bool IsPipe = false);

/// <summary>An account's mail configuration as it moves between nodes (hashes, never passwords).</summary>
public sealed record MailConfiguration(IReadOnlyList<MailAddressConfig> Addresses, IReadOnlyList<MailForwarderConfig> Forwarders);

/// <summary>A mailbox as it moves between nodes; <paramref name="Sieve"/>: its autoresponder and filters (null: none).</summary>
public sealed record MailAddressConfig(string LocalPart, string PasswordHash, long QuotaBytes, DateTimeOffset CreatedAt, MailboxSieve? Sieve = null);

public sealed record MailForwarderConfig(string Source, string Destination, bool IsPipe, bool Enabled);

/// <summary>A child takes over an account's mail configuration; pipes arrive disabled.</summary>
public sealed record MailConfigurationImport(MailConfiguration Configuration, bool DisablePipes);

/// <summary>One mailbox's mail as measured on the node that serves it.</summary>
public sealed record MailboxUsage(string LocalPart, long Bytes, long Messages, long QuotaBytes);

/// <summary>An account's mail as measured on the node that serves it: the sum, and each mailbox.</summary>
public sealed record AccountMailUsage(string Username, long Bytes, IReadOnlyList<MailboxUsage> Mailboxes);

/// <summary>What a child reports of the mail it serves for its parent's accounts (node API <c>GET mail-usage</c>).</summary>
public sealed record MailUsageReport(IReadOnlyList<AccountMailUsage> Accounts);

/// <summary>
/// A page of an account's addresses or forwarders: <paramref name="Search"/> matches part of an address (or a
/// forwarder's destination), in order of address; at most <see cref="MaxTake"/> at a time.
/// </summary>
public sealed record MailListQuery(string? Search = null, int Skip = 0, int Take = 25)
{
    public const int MaxTake = 500;

    public MailListQuery Normalized() => new(
        string.IsNullOrWhiteSpace(Search) ? null : Search.Trim().ToLowerInvariant(), Math.Max(0, Skip), Math.Clamp(Take, 1, MaxTake));
}

/// <summary>One page and how many match in all.</summary>
public sealed record MailPage<T>(IReadOnlyList<T> Items, int Total);
