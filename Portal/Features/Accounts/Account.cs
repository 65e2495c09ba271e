namespace Portal.Features.Accounts;

public enum AccountStatus
{
    Active,
    Suspended,
}

/// <summary>The functions an account may use; "ApiTokens" must stay on for an account whose mail is on a child.</summary>
public static class AccountFeatures
{
    public const string ApiTokens = "ApiTokens";
    public const string Email = "Email";
    public const string Forwarders = "Forwarders";
    public const string Webmail = "Webmail";

    public static readonly IReadOnlyList<string> All = [ApiTokens, Email, Forwarders, Webmail];

    public static string Describe(string feature) => feature switch
    {
        ApiTokens => "API Tokens",
        Email => "Email accounts",
        Forwarders => "Forwarders",
        Webmail => "Webmail",
        _ => feature,
    };
}

/// <summary>
/// A hosting account. On a parent it is the account itself; its mail may live on a child (<see cref="MailNodeId"/>).
/// On a child it is the twin of a parent's account (<see cref="ParentNodeId"/> set), owned by root, changed only
/// through the node API.
/// </summary>
public sealed class Account
{
    public long Id { get; set; }

    /// <summary>Lowercase letters and digits, starting with a letter, at most 16; unique across the linked set.</summary>
    public required string Username { get; set; }

    /// <summary>The primary domain in ASCII (punycode for internationalised names); shown as Unicode.</summary>
    public required string Domain { get; set; }

    public required string ContactEmail { get; set; }

    /// <summary>The account owner's sign-in (role User). Null on a child's twin: owners sign in on the parent.</summary>
    public string? UserId { get; set; }

    /// <summary>The reseller that owns the account, or null for root (the node's admins).</summary>
    public string? ResellerId { get; set; }

    /// <summary>"root" or the owning reseller's user name, kept here so the grid sorts and filters by it cheaply.</summary>
    public required string OwnerName { get; set; }

    public List<string> Features { get; set; } = [];

    public bool Ipv6Enabled { get; set; }

    public AccountStatus Status { get; set; }

    /// <summary>While suspended: why, in the words the owner is shown when signing in or calling the API.</summary>
    public string? SuspensionReason { get; set; }

    public DateTimeOffset? SuspendedAt { get; set; }

    /// <summary>While suspended: whether an admin suspended it (then only an admin lifts it, not the reseller).</summary>
    public bool SuspendedByAdmin { get; set; }

    /// <summary>The account's mail in bytes, where it is kept, as last measured (<see cref="MailUsageService"/>).</summary>
    public long DiskUsageBytes { get; set; }

    public DateTimeOffset? DiskUsageMeasuredAt { get; set; }

    /// <summary>
    /// The most mail the whole account may hold, in MiB (null: no limit): its mailboxes' quotas together may not pass
    /// it, so each mailbox needs a quota (<see cref="MailFunctions"/> checks; Dovecot enforces each one).
    /// </summary>
    public int? MailQuotaMegabytes { get; set; }

    /// <summary>On a parent: the child that serves the account's mail, or null when mail is local.</summary>
    public Guid? MailNodeId { get; set; }

    /// <summary>The mail node's alias, kept with the account (set with <see cref="MailNodeId"/>) so the grid sorts by it from an index.</summary>
    public string? MailNodeAlias { get; set; }

    /// <summary>On a child: the parent whose account this is a twin of.</summary>
    public Guid? ParentNodeId { get; set; }

    /// <summary>
    /// On a child, for a twin whose mail has gone elsewhere (dedistributed or moved on) but which is kept until its
    /// scheduled deletion: the address its IMAP/POP3 is proxied and its SMTP relayed to. Null while the mail is here.
    /// </summary>
    public string? MailRedirectAddress { get; set; }

    /// <summary>
    /// On a child, for a twin whose mail has gone: when the parent last said it deletes this copy (its scheduled
    /// deletion); null while the mail is here, or when the parent gave no date (cancelled: kept until an admin decides).
    /// </summary>
    public DateTimeOffset? KeptUntil { get; set; }

    /// <summary>On a parent: the account's mail on its mail node when last measured (a move's verification).</summary>
    public long? LastMailMessages { get; set; }

    public long? LastMailBytes { get; set; }

    public DateTimeOffset? LastMailMeasuredAt { get; set; }

    /// <summary>
    /// On a parent, while the account's mail is on a child: its email accounts and forwarders as last known (JSON of a
    /// <see cref="MailConfiguration"/>, hashes only), so a forced dedistribution can recreate them.
    /// </summary>
    public string? MailSettingsSnapshot { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// The package (hosting plan) the account was made from or put on, or null. Its features, IPv6 and mail limit are
    /// the package's as last applied (an admin may still change one account's); its mailbox count is read from the package.
    /// </summary>
    public long? PackageId { get; set; }

    public bool IsTwin => ParentNodeId is not null;

    public bool HasFeature(string feature) => Features.Contains(feature);
}

/// <summary>A reseller's own settings: where the accounts it creates keep their mail, and how far it may go.</summary>
public sealed class ResellerSettings
{
    public required string UserId { get; set; }

    /// <summary>The mail node that accounts the reseller creates start on; null is local.</summary>
    public Guid? MailNodeId { get; set; }

    /// <summary>How many accounts the reseller may own; null: no limit (<see cref="ResellerLimits"/>).</summary>
    public int? MaxAccounts { get; set; }

    /// <summary>
    /// How much disk in MiB the reseller may hand out: the sum of its accounts' mail limits (null: no limit). Counted as
    /// allocated, not as used, so a reseller cannot promise more than it was given.
    /// </summary>
    public int? MaxDiskMegabytes { get; set; }
}

internal sealed class AccountConfiguration : IEntityTypeConfiguration<Account>
{
    public void Configure(EntityTypeBuilder<Account> builder)
    {
        builder.ToTable("accounts");
        // User names, domains (punycode) and owner names are ASCII: the "C" collation orders them by byte, so one
        // plain index serves equality, ORDER BY and LIKE 'prefix%' alike, whatever the database's own collation.
        builder.Property(a => a.Username).HasMaxLength(16).UseCollation("C");
        builder.Property(a => a.Domain).HasMaxLength(253).UseCollation("C");
        builder.Property(a => a.ContactEmail).HasMaxLength(254);
        builder.Property(a => a.OwnerName).HasMaxLength(256).UseCollation("C");
        builder.Property(a => a.MailNodeAlias).HasMaxLength(50).UseCollation("C");
        builder.Property(a => a.MailRedirectAddress).HasMaxLength(253);
        builder.Property(a => a.UserId).HasMaxLength(450);
        builder.Property(a => a.ResellerId).HasMaxLength(450);
        builder.Property(a => a.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(a => a.SuspensionReason).HasMaxLength(AccountSuspension.MaxReasonLength);
        builder.Ignore(a => a.IsTwin);

        // One index per sort key of the accounts grid, each carrying the id, so a page (however deep) is found by an
        // index-only scan and only its 25 rows are read (AccountQueries).
        builder.HasIndex(a => a.Username).IsUnique().IncludeProperties(a => a.Id);
        builder.HasIndex(a => a.Domain).IsUnique().IncludeProperties(a => a.Id);
        builder.HasIndex(a => new { a.OwnerName, a.Username }).IncludeProperties(a => a.Id);
        builder.HasIndex(a => new { a.MailNodeAlias, a.Username }).IncludeProperties(a => a.Id);
        builder.HasIndex(a => new { a.Status, a.Username }).IncludeProperties(a => a.Id);
        builder.HasIndex(a => new { a.DiskUsageBytes, a.Username }).IncludeProperties(a => a.Id);
        builder.HasIndex(a => new { a.CreatedAt, a.Id });
        builder.HasIndex(a => new { a.ResellerId, a.Username }).IncludeProperties(a => a.Id);
        builder.HasIndex(a => new { a.MailNodeId, a.Username }).IncludeProperties(a => a.Id);
        builder.HasIndex(a => a.UserId).IsUnique();
    }
}

internal sealed class ResellerSettingsConfiguration : IEntityTypeConfiguration<ResellerSettings>
{
    public void Configure(EntityTypeBuilder<ResellerSettings> builder)
    {
        builder.ToTable("reseller_settings");
        builder.HasKey(r => r.UserId);
        builder.Property(r => r.UserId).HasMaxLength(450);
    }
}
