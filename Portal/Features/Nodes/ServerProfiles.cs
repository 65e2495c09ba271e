namespace Portal.Features.Nodes;

/// <summary>What a node is set up to serve; each profile enables a documented set of roles.</summary>
public enum ServerProfile
{
    Standard,
    Mail,
    Dns,
    Database,
}

[Flags]
public enum NodeRoles
{
    None = 0,
    MailReceive = 1,
    MailRelay = 2,
    Webmail = 4,
    CalendarContacts = 8,
    Dns = 16,
    Databases = 32,
    WebHosting = 64,
}

/// <summary>The function a child is linked for; a child's profile must serve every role it needs.</summary>
public enum LinkPurpose
{
    Mail,
}

public static class ServerProfiles
{
    public static NodeRoles RolesOf(ServerProfile profile) => profile switch
    {
        ServerProfile.Standard => NodeRoles.MailReceive | NodeRoles.MailRelay | NodeRoles.Webmail | NodeRoles.CalendarContacts | NodeRoles.Dns | NodeRoles.Databases | NodeRoles.WebHosting,
        ServerProfile.Mail => NodeRoles.MailReceive | NodeRoles.MailRelay | NodeRoles.Webmail | NodeRoles.CalendarContacts,
        ServerProfile.Dns => NodeRoles.Dns,
        ServerProfile.Database => NodeRoles.Databases,
        _ => throw new ArgumentOutOfRangeException(nameof(profile), profile, null),
    };

    public static NodeRoles RolesNeededFor(LinkPurpose purpose) => purpose switch
    {
        LinkPurpose.Mail => NodeRoles.MailReceive | NodeRoles.MailRelay | NodeRoles.Webmail,
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, null),
    };

    public static string Describe(ServerProfile profile) => profile switch
    {
        ServerProfile.Standard => "Every role: web hosting, mail, DNS and databases. The only profile a parent node may use.",
        ServerProfile.Mail => "Mail only: receiving and relaying mail, webmail, calendars and contacts. For a mail child node.",
        ServerProfile.Dns => "DNS only: authoritative DNS for the linked set.",
        ServerProfile.Database => "Databases only.",
        _ => throw new ArgumentOutOfRangeException(nameof(profile), profile, null),
    };

    public static string Describe(NodeRoles role) => role switch
    {
        NodeRoles.MailReceive => "Mail receive",
        NodeRoles.MailRelay => "Mail relay",
        NodeRoles.Webmail => "Webmail",
        NodeRoles.CalendarContacts => "Calendars and contacts",
        NodeRoles.Dns => "DNS",
        NodeRoles.Databases => "Databases",
        NodeRoles.WebHosting => "Web hosting",
        _ => role.ToString(),
    };

    /// <summary>The single roles in a set, in a stable order.</summary>
    public static IReadOnlyList<NodeRoles> Split(NodeRoles roles) =>
        Enum.GetValues<NodeRoles>().Where(r => r != NodeRoles.None && roles.HasFlag(r)).ToArray();

    public static NodeRoles Parse(IEnumerable<string> roles) =>
        roles.Aggregate(NodeRoles.None, (all, r) => Enum.TryParse<NodeRoles>(r, out var role) ? all | role : all);
}
