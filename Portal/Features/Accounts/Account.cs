using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

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

    public long DiskUsageBytes { get; set; }

    /// <summary>On a parent: the child that serves the account's mail, or null when mail is local.</summary>
    public Guid? MailNodeId { get; set; }

    /// <summary>On a child: the parent whose account this is a twin of.</summary>
    public Guid? ParentNodeId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public bool IsTwin => ParentNodeId is not null;

    public bool HasFeature(string feature) => Features.Contains(feature);
}

/// <summary>A reseller's own settings: where the accounts it creates keep their mail.</summary>
public sealed class ResellerSettings
{
    public required string UserId { get; set; }

    /// <summary>The mail node that accounts the reseller creates start on; null is local.</summary>
    public Guid? MailNodeId { get; set; }
}

internal sealed class AccountConfiguration : IEntityTypeConfiguration<Account>
{
    public void Configure(EntityTypeBuilder<Account> builder)
    {
        builder.ToTable("accounts");
        builder.Property(a => a.Username).HasMaxLength(16);
        builder.Property(a => a.Domain).HasMaxLength(253);
        builder.Property(a => a.ContactEmail).HasMaxLength(254);
        builder.Property(a => a.OwnerName).HasMaxLength(256);
        builder.Property(a => a.UserId).HasMaxLength(450);
        builder.Property(a => a.ResellerId).HasMaxLength(450);
        builder.Property(a => a.Status).HasConversion<string>().HasMaxLength(16);
        builder.Ignore(a => a.IsTwin);

        builder.HasIndex(a => a.Username).IsUnique();
        builder.HasIndex(a => a.Domain).IsUnique();
        // Prefix filters of the accounts grid (LIKE 'abc%') use these whatever the database's collation.
        builder.HasIndex(a => a.Username, "ix_accounts_username_pattern").HasOperators("text_pattern_ops");
        builder.HasIndex(a => a.Domain, "ix_accounts_domain_pattern").HasOperators("text_pattern_ops");
        builder.HasIndex(a => new { a.OwnerName, a.Username });
        builder.HasIndex(a => new { a.ResellerId, a.Username });
        builder.HasIndex(a => new { a.MailNodeId, a.Username });
        builder.HasIndex(a => new { a.Status, a.Username });
        builder.HasIndex(a => a.CreatedAt);
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
