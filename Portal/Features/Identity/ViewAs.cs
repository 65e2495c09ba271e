namespace Portal.Features.Identity;

/// <summary>
/// "View as": an admin opens a reseller's or an owner's panel as that user, the way hosting admins help customers. The
/// session is the user's (their rights, their pages), carrying who the admin is; every audit entry names both
/// ("alice as bob"), every page says so, and it ends after <see cref="Lifetime"/>, when the admin ends it, or as soon
/// as the admin may no longer do it (locked, no longer an admin, their password or security stamp changed).
/// </summary>
public static class ViewAs
{
    /// <summary>How long a view-as session lasts at most; the admin starts another if they need more.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    public const string AdminIdClaim = "portal:view_as:admin_id";
    public const string AdminNameClaim = "portal:view_as:admin_name";
    public const string AdminStampClaim = "portal:view_as:admin_stamp";
    public const string StartedClaim = "portal:view_as:started";

    private static readonly string[] ClaimTypes = [AdminIdClaim, AdminNameClaim, AdminStampClaim, StartedClaim];

    public static Claim[] ClaimsFor(PortalUser admin, DateTimeOffset now) =>
    [
        new(AdminIdClaim, admin.Id),
        new(AdminNameClaim, admin.UserName!),
        new(AdminStampClaim, admin.SecurityStamp ?? ""),
        new(StartedClaim, now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
    ];

    /// <summary>The admin behind this session, or null for a user's own session.</summary>
    public static string? AdminName(ClaimsPrincipal principal) => principal.FindFirstValue(AdminNameClaim);

    public static DateTimeOffset? Ends(ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirstValue(StartedClaim), NumberStyles.None, CultureInfo.InvariantCulture, out var started)
            ? DateTimeOffset.FromUnixTimeSeconds(started) + Lifetime
            : null;

    /// <summary>
    /// Whether a view-as session may go on: within its lifetime, and its admin still an admin, not locked, with the
    /// security stamp they had when it began. A user's own session passes.
    /// </summary>
    public static async Task<bool> StillAllowedAsync(UserManager<PortalUser> users, ClaimsPrincipal principal, DateTimeOffset now)
    {
        if (principal.FindFirstValue(AdminIdClaim) is not { } adminId)
        {
            return true;
        }

        if (Ends(principal) is not { } ends || now >= ends)
        {
            return false;
        }

        var admin = await users.FindByIdAsync(adminId);
        return admin is not null
               && admin.SecurityStamp == principal.FindFirstValue(AdminStampClaim)
               && !await users.IsLockedOutAsync(admin)
               && await users.IsInRoleAsync(admin, PortalRoles.Admin);
    }

    /// <summary>The view-as claims of <paramref name="from"/>, for a principal Identity built anew (it knows nothing of them).</summary>
    public static void CarryOver(ClaimsPrincipal from, ClaimsPrincipal to)
    {
        var claims = from.Claims.Where(c => ClaimTypes.Contains(c.Type)).Select(c => new Claim(c.Type, c.Value)).ToList();
        if (claims.Count > 0 && to.Identity is ClaimsIdentity identity)
        {
            identity.AddClaims(claims);
        }
    }
}
