namespace Portal.Features.Identity;

public sealed class PortalUser : IdentityUser
{
    /// <summary>The theme the user picked (an id from wwwroot-themes/); null means the node's default.</summary>
    public string? ThemeId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the sign-in password was last set; the node's password age counts from here.</summary>
    public DateTimeOffset? PasswordChangedAt { get; set; }
}

/// <summary>The three kinds of user; each reaches its own area of the UI only.</summary>
public static class PortalRoles
{
    public const string Admin = "Admin";
    public const string Reseller = "Reseller";
    public const string User = "User";

    public static readonly IReadOnlyList<string> All = [Admin, Reseller, User];

    /// <summary>The area (URL prefix) each role works in.</summary>
    public static string HomeOf(string role) => role switch
    {
        Admin => "/admin",
        Reseller => "/reseller",
        User => "/account",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown role."),
    };
}
