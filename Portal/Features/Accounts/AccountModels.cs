namespace Portal.Features.Accounts;

public enum MailRoutingKind
{
    /// <summary>Mail stays on this node.</summary>
    Local,

    /// <summary>Mail lives on a chosen child node.</summary>
    Node,

    /// <summary>Mail lives on the least-loaded online child that serves mail.</summary>
    Automatic,
}

public sealed record MailRouting(MailRoutingKind Kind, Guid? NodeId = null)
{
    public static MailRouting Local { get; } = new(MailRoutingKind.Local);

    public static MailRouting Automatic { get; } = new(MailRoutingKind.Automatic);

    public static MailRouting To(Guid nodeId) => new(MailRoutingKind.Node, nodeId);

    /// <summary>Where the mail of accounts a reseller creates starts: its chosen node, or here.</summary>
    public static MailRouting OfReseller(Guid? mailNodeId) => mailNodeId is { } id ? To(id) : Local;

    /// <summary>A form's choice that means <see cref="Local"/>.</summary>
    public const string LocalChoice = "local";

    /// <summary>A form's choice that means <see cref="Automatic"/>.</summary>
    public const string AutomaticChoice = "auto";

    /// <summary>This routing as a form's choice: <see cref="LocalChoice"/>, <see cref="AutomaticChoice"/> or the node's id.</summary>
    public string Choice => Kind switch
    {
        MailRoutingKind.Automatic => AutomaticChoice,
        MailRoutingKind.Node => NodeId!.Value.ToString(),
        _ => LocalChoice,
    };

    /// <summary>The routing a form's <see cref="Choice"/> means.</summary>
    public static MailRouting FromChoice(string choice) => choice switch
    {
        LocalChoice => Local,
        AutomaticChoice => Automatic,
        var id => To(Guid.Parse(id)),
    };
}

/// <param name="Package">A package to make the account from: it gives the features, IPv6 and mail limit (and, for a root
/// account, the mail routing). Values given as well must be the package's; a different one is refused, not overridden.</param>
/// <param name="MailQuotaMegabytes">The account's mail limit in MiB; null or 0: none.</param>
public sealed record NewAccount(
    string Username,
    string Domain,
    string ContactEmail,
    string? Password = null,
    string? Owner = null,
    MailRouting? MailRouting = null,
    IReadOnlyList<string>? Features = null,
    bool? Ipv6Enabled = null,
    string? Package = null,
    int? MailQuotaMegabytes = null);

public sealed record CreatedAccount(AccountRow Account, string? GeneratedPassword, IReadOnlyList<string> Warnings);

/// <param name="SuspensionReason">With Status Suspended: why, as the owner is told (empty: a plain default).</param>
/// <param name="MailQuotaMegabytes">The account's mail limit in MiB, 0 for none (null: unchanged).</param>
public sealed record AccountChange(string? ContactEmail = null, IReadOnlyList<string>? Features = null, bool? Ipv6Enabled = null, AccountStatus? Status = null, string? SuspensionReason = null,
    int? MailQuotaMegabytes = null);

public sealed record AccountRow(
    string Username,
    string Domain,
    string DomainUnicode,
    string ContactEmail,
    string OwnerName,
    Guid? MailNodeId,
    string? MailNodeAlias,
    AccountStatus Status,
    long DiskUsageBytes,
    bool Ipv6Enabled,
    IReadOnlyList<string> Features,
    DateTimeOffset CreatedAt,
    string? SuspensionReason = null,
    bool SuspendedByAdmin = false,
    bool IsTwin = false,
    int? MailQuotaMegabytes = null,
    string? MailRedirectAddress = null,
    string? Package = null,
    DateTimeOffset? KeptUntil = null)
{
    /// <summary>On a child, for a parent's account: its mail has gone elsewhere and is sent on (<see cref="MailRedirectAddress"/>).</summary>
    public bool MailRedirected => MailRedirectAddress is not null;

    public bool IsDistributed => MailNodeId is not null;

    /// <summary>
    /// Where the mail is, as the grid's Mail column says it. On a child, a parent's account says so, with the state the
    /// parent gave it (it read "Local", like the child's own accounts, even once its mail had gone back).
    /// </summary>
    public string MailLocation => (IsTwin, MailRedirected) switch
    {
        (true, false) => "Parent's account · served here",
        (true, true) => "Parent's account · kept, mail sent on",
        _ => MailNodeAlias ?? "Local",
    };

    internal static AccountRow From(Account a) => new(
        a.Username, a.Domain, DomainNames.ToUnicode(a.Domain), a.ContactEmail, a.OwnerName, a.MailNodeId, a.MailNodeAlias, a.Status,
        a.DiskUsageBytes, a.Ipv6Enabled, a.Features.ToArray(), a.CreatedAt, a.SuspensionReason, a.SuspendedByAdmin, a.IsTwin, a.MailQuotaMegabytes,
        a.MailRedirectAddress, KeptUntil: a.MailRedirectAddress is null ? null : a.KeptUntil);
}

/// <summary>A child an account's mail can be routed to, with what an admin weighs: status, free disk, load.</summary>
public sealed record MailNodeChoice(Guid Id, string Alias, NodeStatus Status, long? MailFreeBytes, long? MailTotalBytes, int AccountCount, bool ServesMail)
{
    public bool Selectable => Status == NodeStatus.Online && ServesMail;
}

public enum AccountSort
{
    Username,
    Domain,
    Owner,
    MailNode,
    Status,
    Created,
    DiskUsage,
}

public sealed record AccountQuery(
    string? Username = null,
    string? Domain = null,
    string? Owner = null,
    string? MailNode = null,
    AccountStatus? Status = null,
    AccountSort Sort = AccountSort.Username,
    bool Descending = false,
    int Skip = 0,
    int Take = 25)
{
    /// <summary>The <see cref="MailNode"/> filter value that means "mail on this node".</summary>
    public const string LocalMail = "local";
}

public sealed record AccountPage(IReadOnlyList<AccountRow> Items, int Total);

/// <summary>The distribution a reseller's new accounts start with, its usage and its limits (null: none).</summary>
/// <param name="AllocatedMegabytes">The sum of its accounts' mail limits: what counts against <paramref name="MaxDiskMegabytes"/>.</param>
/// <param name="AccountsWithoutLimit">Its accounts that have no mail limit (none may be added while a disk limit is set).</param>
public sealed record ResellerRow(string UserId, string UserName, Guid? MailNodeId, string? MailNodeAlias, int AccountCount, long DiskUsageBytes,
    int? MaxAccounts = null, int? MaxDiskMegabytes = null, long AllocatedMegabytes = 0, int AccountsWithoutLimit = 0)
{
    /// <summary>Where the reseller's new accounts keep their mail.</summary>
    public MailRouting Routing => MailRouting.OfReseller(MailNodeId);
}
