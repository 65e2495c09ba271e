namespace Portal.Features.ApiTokens;

public enum ApiTokenKind
{
    /// <summary>Opens this node's node API to a parent node (admin-level, node-to-node only).</summary>
    Node,

    /// <summary>Opens the public API as its owner.</summary>
    User,
}

/// <summary>An API token. Only a hash of its secret is kept; the token is shown once, when it is created.</summary>
public sealed class ApiToken
{
    public Guid Id { get; set; }

    public ApiTokenKind Kind { get; set; }

    public required string Name { get; set; }

    public required string OwnerUserId { get; set; }

    public required string OwnerUserName { get; set; }

    public required byte[] SecretHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    public string? LastUsedFrom { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public string? RevokedBy { get; set; }

    /// <summary>
    /// What a node token may do besides being a parent's: null for a general node token (the one a parent links with),
    /// or "transfer:&lt;account&gt;" for a token that exports that one account to another parent, and nothing else.
    /// </summary>
    public string? Scope { get; set; }

    public const string TransferScopePrefix = "transfer:";

    public static string TransferScope(string username) => TransferScopePrefix + username;
}

internal sealed class ApiTokenConfiguration : IEntityTypeConfiguration<ApiToken>
{
    public void Configure(EntityTypeBuilder<ApiToken> builder)
    {
        builder.ToTable("api_tokens");
        builder.Property(t => t.Id).ValueGeneratedNever();
        builder.Property(t => t.Kind).HasConversion<string>().HasMaxLength(16);
        builder.Property(t => t.Name).HasMaxLength(100);
        builder.Property(t => t.OwnerUserId).HasMaxLength(64);
        builder.Property(t => t.OwnerUserName).HasMaxLength(256);
        builder.Property(t => t.SecretHash).HasMaxLength(32);
        builder.Property(t => t.LastUsedFrom).HasMaxLength(64);
        builder.Property(t => t.RevokedBy).HasMaxLength(256);
        builder.Property(t => t.Scope).HasMaxLength(300);
        builder.HasIndex(t => new { t.Kind, t.OwnerUserId });
    }
}
