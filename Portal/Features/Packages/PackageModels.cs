namespace Portal.Features.Packages;

/// <summary>A package as created or changed (POST and PUT): null quota or mailbox count is "no limit", null routing is Local.</summary>
public sealed record PackageSpec(
    string Name,
    IReadOnlyList<string>? Features = null,
    bool Ipv6Enabled = false,
    int? MailQuotaMegabytes = null,
    int? MaxMailboxes = null,
    MailRouting? MailRouting = null);

public sealed record PackageRow(
    string Name,
    IReadOnlyList<string> Features,
    bool Ipv6Enabled,
    int? MailQuotaMegabytes,
    int? MaxMailboxes,
    MailRouting MailRouting,
    string? MailNodeAlias,
    int AccountCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Where new accounts' mail starts, as the packages page says it.</summary>
    public string RoutingText => MailRouting.Kind switch
    {
        MailRoutingKind.Local => "Local",
        MailRoutingKind.Automatic => "Automatic",
        MailRoutingKind.Node => MailNodeAlias ?? "a node no longer linked",
        _ => MailRouting.Kind.ToString(),
    };
}

/// <summary>
/// What a package change does to one of its accounts. <see cref="Problems"/> are what would refuse the account (then the
/// whole change is refused: a package's accounts stay alike); <see cref="Mailboxes"/> is null when not known.
/// </summary>
public sealed record PackageAccountChange(
    string Username,
    string OwnerName,
    string? MailNodeAlias,
    IReadOnlyList<string> FeaturesAdded,
    IReadOnlyList<string> FeaturesRemoved,
    bool Ipv6From,
    bool Ipv6To,
    int? QuotaFrom,
    int? QuotaTo,
    int? MaxMailboxesFrom,
    int? MaxMailboxesTo,
    int? Mailboxes,
    long DiskUsageBytes,
    IReadOnlyList<string> Problems)
{
    /// <summary>Whether applying the package writes anything to the account (the mailbox limit is the package's own, read live).</summary>
    public bool AccountChanges => FeaturesAdded.Count > 0 || FeaturesRemoved.Count > 0 || Ipv6From != Ipv6To || QuotaFrom != QuotaTo;

    public bool Refused => Problems.Count > 0;
}

/// <param name="Notes">What the change does beyond the accounts' rows, such as a new mail routing that only new accounts take.</param>
public sealed record PackagePreview(string Package, PackageRow Proposed, IReadOnlyList<PackageAccountChange> Accounts, IReadOnlyList<string> Notes)
{
    public bool CanApply => Accounts.All(a => !a.Refused);
}

/// <param name="Problem">Null when the account now matches the package; else why it does not (a mail node that did not answer).</param>
public sealed record PackageAccountOutcome(string Username, bool Changed, string? Problem);

public sealed record PackageUpdate(PackageRow Package, IReadOnlyList<PackageAccountOutcome> Accounts);

/// <summary>Which package an account is on (null: none; it keeps its current values).</summary>
public sealed record AccountPackageChange(string? Package);

/// <summary>A reseller's limits as an admin sets them; null is no limit.</summary>
public sealed record ResellerLimitsChange(int? MaxAccounts, int? MaxDiskMegabytes);
