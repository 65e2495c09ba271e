namespace Portal.Infrastructure.Security;

/// <summary>Who is acting, for rules and the audit log: the signed-in user (or the system) and their address.</summary>
public sealed record Actor(string? UserId, string Name, string? Address, ClaimsPrincipal Principal)
{
    public static Actor System { get; } = new(null, "system", null, new ClaimsPrincipal(new ClaimsIdentity()));

    public bool IsAuthenticated => Principal.Identity?.IsAuthenticated == true;

    public bool IsAdmin => Principal.IsInRole(PortalRoles.Admin);

    public bool IsInRole(string role) => Principal.IsInRole(role);

    /// <summary>An admin or a reseller: who creates, changes, renames and terminates accounts (a reseller only its own).</summary>
    public bool ManagesAccounts => IsAdmin || IsInRole(PortalRoles.Reseller);

    /// <summary>An account's owner and nothing more: who works in their own account's panel only.</summary>
    public bool IsAccountOwner => IsInRole(PortalRoles.User) && !ManagesAccounts;

    /// <summary>In a view-as session: the admin looking at the panel as this user (<see cref="ViewAs"/>); null otherwise.</summary>
    public string? ViewedBy => ViewAs.AdminName(Principal);

    /// <summary>Who the audit log says acted: the user, or "admin as user" in a view-as session.</summary>
    public string AuditName => ViewedBy is { } admin ? $"{admin} as {Name}" : Name;

    /// <summary>
    /// Refuses what only the user themself may do (their password, two-factor sign-in, API tokens) in a view-as
    /// session: an admin resets a password or two-factor sign-in from the users page, where it is audited as theirs.
    /// </summary>
    public void RequireOwnSession(string what)
    {
        if (ViewedBy is { } admin)
        {
            throw new PortalForbiddenException(
                $"You are viewing this panel as {Name}: {what} is theirs to do. Return to your own session ({admin}) to reset a password or two-factor sign-in from Resellers and users.",
                "view_as.own_session_only");
        }
    }

    public static Actor From(ClaimsPrincipal principal, string? address) =>
        principal.Identity?.IsAuthenticated == true
            ? new Actor(principal.FindFirstValue(ClaimTypes.NameIdentifier), principal.Identity.Name ?? "unknown", address, principal)
            : new Actor(null, "anonymous", address, principal);
}
