namespace Portal.Features.Nodes;

/// <summary>This node: its stable id, profile, and (when it is a child) the parent that linked it. One row.</summary>
public sealed class NodeIdentity
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;

    public Guid NodeId { get; set; }

    public ServerProfile Profile { get; set; }

    public Guid? ParentNodeId { get; set; }

    public string? ParentName { get; set; }

    public string? ParentUrl { get; set; }

    public DateTimeOffset? ParentLinkedAt { get; set; }

    public LinkPurpose? LinkPurpose { get; set; }

    /// <summary>The node token the parent linked with: the only one that may act as the parent afterwards.</summary>
    public Guid? ParentTokenId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public bool IsChild => ParentNodeId is not null;
}

/// <summary>The parent's record of a child it linked.</summary>
public sealed class LinkedNode
{
    /// <summary>The child's own node id (what it reports), so the same node cannot be linked twice.</summary>
    public Guid Id { get; set; }

    public required string Alias { get; set; }

    public required string BaseUrl { get; set; }

    public required string AdminUserName { get; set; }

    /// <summary>The child's API token, encrypted with Data Protection (keys in this node's database).</summary>
    public required string ProtectedToken { get; set; }

    public bool VerifyTls { get; set; }

    /// <summary>The child's certificate verified once; verification can no longer be switched off.</summary>
    public bool TlsVerified { get; set; }

    public LinkPurpose Purpose { get; set; }

    public required string Name { get; set; }

    public ServerProfile Profile { get; set; }

    public required string Version { get; set; }

    public NodeStatus Status { get; set; }

    public DateTimeOffset? LastCheckAt { get; set; }

    public DateTimeOffset? LastOnlineAt { get; set; }

    public string? LastError { get; set; }

    public long? MailFreeBytes { get; set; }

    public long? MailTotalBytes { get; set; }

    /// <summary>The child's public IPv4 address (its Portal:Dns:PublicIPv4): mail. and webmail. of its accounts point here.</summary>
    public string? PublicIPv4 { get; set; }

    /// <summary>
    /// The host name the child asks this parent's AutoSSL to certify for its panel (its health report says it; null:
    /// none). Certified only in this node's nodes zone, and not when another node has it (<c>AutoSslService</c>).
    /// </summary>
    public string? PanelHostName { get; set; }

    public DateTimeOffset LinkedAt { get; set; }

    public required string LinkedBy { get; set; }
}

public enum NodeStatus
{
    Unknown,
    Online,
    Offline,
}

internal sealed class NodeIdentityConfiguration : IEntityTypeConfiguration<NodeIdentity>
{
    public void Configure(EntityTypeBuilder<NodeIdentity> builder)
    {
        builder.ToTable("node_identity", t => t.HasCheckConstraint("ck_node_identity_single_row", "\"Id\" = 1"));
        builder.Property(n => n.Id).ValueGeneratedNever();
        builder.Property(n => n.Profile).HasConversion<string>().HasMaxLength(16);
        builder.Property(n => n.LinkPurpose).HasConversion<string>().HasMaxLength(16);
        builder.Property(n => n.ParentName).HasMaxLength(100);
        builder.Property(n => n.ParentUrl).HasMaxLength(500);
        builder.Ignore(n => n.IsChild);
    }
}

internal sealed class LinkedNodeConfiguration : IEntityTypeConfiguration<LinkedNode>
{
    public void Configure(EntityTypeBuilder<LinkedNode> builder)
    {
        builder.ToTable("linked_nodes");
        builder.Property(n => n.Id).ValueGeneratedNever();
        builder.Property(n => n.Alias).HasMaxLength(50);
        builder.HasIndex(n => n.Alias).IsUnique();
        builder.Property(n => n.BaseUrl).HasMaxLength(500);
        builder.Property(n => n.AdminUserName).HasMaxLength(256);
        builder.Property(n => n.ProtectedToken).HasMaxLength(2000);
        builder.Property(n => n.Name).HasMaxLength(100);
        builder.Property(n => n.Version).HasMaxLength(32);
        builder.Property(n => n.LinkedBy).HasMaxLength(256);
        builder.Property(n => n.LastError).HasMaxLength(2000);
        builder.Property(n => n.PublicIPv4).HasMaxLength(45);
        builder.Property(n => n.PanelHostName).HasMaxLength(253);
        builder.Property(n => n.Purpose).HasConversion<string>().HasMaxLength(16);
        builder.Property(n => n.Profile).HasConversion<string>().HasMaxLength(16);
        builder.Property(n => n.Status).HasConversion<string>().HasMaxLength(16);
    }
}
