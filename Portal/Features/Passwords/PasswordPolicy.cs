namespace Portal.Features.Passwords;

/// <summary>
/// The kinds of password a panel sets, each with its own strength rule (as cPanel's Password Strength
/// Configuration has). <see cref="PasswordScopes.ServedByMailNode"/> says which follow an account's mail to a child.
/// </summary>
public enum PasswordScope
{
    /// <summary>Sign-in passwords of the panel's users: admins, resellers and account owners.</summary>
    Account,

    /// <summary>Passwords of email accounts (IMAP, POP3, SMTP and webmail).</summary>
    Email,

    /// <summary>Passwords of mailing-list administrators.</summary>
    MailingList,

    /// <summary>FTP accounts.</summary>
    Ftp,

    /// <summary>Database users (MySQL/MariaDB and PostgreSQL).</summary>
    Database,

    /// <summary>Web Disk (WebDAV) accounts.</summary>
    WebDisk,
}

public static class PasswordScopes
{
    public static readonly IReadOnlyList<PasswordScope> All = Enum.GetValues<PasswordScope>();

    /// <summary>
    /// The scopes of functions a mail node serves: for an account whose mail is on a child, the child's rule for these
    /// governs, and the parent's governs the rest (the reference's "Password management").
    /// </summary>
    public static bool ServedByMailNode(PasswordScope scope) => scope is PasswordScope.Email or PasswordScope.MailingList;

    public static string Key(PasswordScope scope) => scope switch
    {
        PasswordScope.Account => "account",
        PasswordScope.Email => "email",
        PasswordScope.MailingList => "mailing-list",
        PasswordScope.Ftp => "ftp",
        PasswordScope.Database => "database",
        PasswordScope.WebDisk => "web-disk",
        _ => throw new ArgumentOutOfRangeException(nameof(scope)),
    };

    public static PasswordScope? Parse(string? key) => All.Cast<PasswordScope?>().FirstOrDefault(s => Key(s!.Value) == key?.Trim().ToLowerInvariant());

    public static string Describe(PasswordScope scope) => scope switch
    {
        PasswordScope.Account => "Panel sign-in (admins, resellers, account owners)",
        PasswordScope.Email => "Email accounts",
        PasswordScope.MailingList => "Mailing lists",
        PasswordScope.Ftp => "FTP accounts",
        PasswordScope.Database => "Database users",
        PasswordScope.WebDisk => "Web Disk",
        _ => throw new ArgumentOutOfRangeException(nameof(scope)),
    };
}

/// <summary>
/// One scope's minimum strength on this node (0-100, see <see cref="PasswordStrength"/>). A scope without a row uses
/// the node's default (the row with <see cref="DefaultScope"/>).
/// </summary>
public sealed class PasswordPolicy
{
    public const string DefaultScope = "default";

    /// <summary><see cref="DefaultScope"/> or a <see cref="PasswordScopes.Key"/>.</summary>
    public required string Scope { get; set; }

    public int MinimumStrength { get; set; }
}

/// <summary>This node's password settings that are not per scope (one row, table <c>security_settings</c>).</summary>
public sealed class PasswordSettings
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;

    /// <summary>Days a panel sign-in password may be used before its owner must change it; 0 means no limit.</summary>
    public int MaxPasswordAgeDays { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class PasswordPolicyConfiguration : IEntityTypeConfiguration<PasswordPolicy>
{
    public void Configure(EntityTypeBuilder<PasswordPolicy> builder)
    {
        builder.ToTable("password_policies");
        builder.HasKey(p => p.Scope);
        builder.Property(p => p.Scope).HasMaxLength(32);
    }
}

internal sealed class PasswordSettingsConfiguration : IEntityTypeConfiguration<PasswordSettings>
{
    public void Configure(EntityTypeBuilder<PasswordSettings> builder)
    {
        builder.ToTable("security_settings", t => t.HasCheckConstraint("ck_security_settings_single_row", "\"Id\" = 1"));
        builder.Property(s => s.Id).ValueGeneratedNever();
    }
}
