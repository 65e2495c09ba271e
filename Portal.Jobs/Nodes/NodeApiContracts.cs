namespace Portal.Jobs.Nodes;

// The node API's wire format (JSON, camelCase), shared by the parent's client and the child's endpoints.

/// <summary>Who a node is: its stable id, build version, server profile and link state.</summary>
public sealed record NodeInfo(
    Guid NodeId,
    string Name,
    string Version,
    string Profile,
    IReadOnlyList<string> Roles,
    NodeParentInfo? Parent,
    int ChildCount,
    string? PublicIPv4 = null);

public sealed record NodeParentInfo(Guid NodeId, string Name, string Url, DateTimeOffset LinkedAt);

/// <summary>The parent asks the child to record it as its parent (the last step of linking).</summary>
public sealed record LinkParentRequest(Guid ParentNodeId, string ParentName, string ParentUrl, string ParentVersion, string Purpose);

/// <summary>How the child's API token is retired on unlink: at once, or after a grace period.</summary>
public enum TokenRetirement
{
    RevokeNow,
    ExpireIn24Hours,
}

public sealed record UnlinkParentRequest(Guid ParentNodeId, TokenRetirement Token);

/// <summary>What the parent's health check reads from a child.</summary>
/// <param name="PanelHostName">The host name the node takes its panel certificate for from its parent's AutoSSL (null: none).</param>
public sealed record NodeHealthReport(Guid NodeId, string Version, string Profile, long MailFreeBytes, long MailTotalBytes, DateTimeOffset CheckedAt, string? PublicIPv4 = null, string? PanelHostName = null);

/// <summary>An account's twin on a child: what the child keeps of a parent's account.</summary>
public sealed record AccountTwin(string Username, string Domain, string ContactEmail, IReadOnlyList<string> Features, string Status);

/// <summary>A twin's new user name (the parent renamed the account).</summary>
public sealed record TwinRename(string NewUsername);

/// <summary>A twin's new primary domain (the parent changed the account's domain): its mail and addresses follow.</summary>
public sealed record TwinDomainChange(string NewDomain);

/// <summary>Whether a user name or a domain is already taken on a node.</summary>
/// <param name="HeldForFormerParent">What is taken is an account a former parent left there, which the child's admin can release.</param>
public sealed record AccountExistence(bool UsernameTaken, bool DomainTaken, bool HeldForFormerParent = false);

/// <summary>Every node API error: a stable code and a message that says what to do.</summary>
public sealed record NodeApiError(string Code, string Message);

/// <summary>Header that names the admin a node token belongs to (the token itself goes in Authorization: Bearer).</summary>
public static class NodeApiHeaders
{
    public const string AdminUser = "X-Portal-Admin";

    /// <summary>
    /// The parent's user a proxied change is made for (its audit names them; the child's names the parent "on behalf
    /// of" them). Information only: the node token decides what the call may do.
    /// </summary>
    public const string OnBehalfOf = "X-Portal-On-Behalf-Of";

    /// <summary>A user name as the header may carry it: short, printable, no spaces; anything else is not believed.</summary>
    public static bool IsAcceptableName(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@');
}

/// <summary>The body of a node API answer that carries nothing but success.</summary>
public sealed record NodeApiOk(bool Ok = true);

/// <summary>
/// An account as another parent imports it: its settings, its owner's sign-in (the password hash, never a password),
/// its mail configuration, where its mail lives and how much there is.
/// </summary>
public sealed record AccountExport(
    AccountTwin Account,
    bool Ipv6Enabled,
    string OwnerUserName,
    string? OwnerEmail,
    string? OwnerPasswordHash,
    string? MailNodeAlias,
    MailConfiguration Mail,
    long MailMessages,
    long MailBytes);

/// <summary>A node's password rules: the minimum strength (0-100) per scope and its password age limit.</summary>
public sealed record PasswordPolicyView(string Node, int DefaultStrength, IReadOnlyList<PasswordScopeRule> Scopes, int MaxPasswordAgeDays);

/// <summary>One scope's rule: its own minimum (null when it follows the default) and the minimum that applies.</summary>
public sealed record PasswordScopeRule(string Scope, string Description, int? OwnMinimum, int MinimumStrength);

/// <summary>
/// What another node says about itself is untrusted input: its public IPv4 address goes into the Postfix transport map,
/// the Dovecot proxy entries and DNS records, so it must be one plain IPv4 address, written as such.
/// </summary>
public static class ReportedAddress
{
    /// <summary>True for a dotted-quad IPv4 address in its canonical form, that is not "any", broadcast or multicast.</summary>
    public static bool IsAcceptable(string? value) =>
        value is not null
        && System.Net.IPAddress.TryParse(value, out var ip)
        && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
        && ip.ToString() == value
        && !ip.Equals(System.Net.IPAddress.Any) && !ip.Equals(System.Net.IPAddress.Broadcast)
        && ip.GetAddressBytes()[0] is < 224;
}
