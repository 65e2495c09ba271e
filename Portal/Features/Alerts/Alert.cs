namespace Portal.Features.Alerts;

/// <summary>
/// A problem the node's admins must hear about without reading logs: raised once (per <see cref="Key"/>, while it
/// lasts) and, for a condition that can end (a child offline, a server down), resolved when it does.
/// </summary>
public sealed class Alert
{
    public long Id { get; set; }

    /// <summary>What the problem is about, e.g. "node-offline:&lt;id&gt;", "server-down:dovecot", "move-failed:&lt;id&gt;".</summary>
    public required string Key { get; set; }

    public required string Title { get; set; }

    public required string Message { get; set; }

    public string? Link { get; set; }

    public DateTimeOffset RaisedAt { get; set; }

    public DateTimeOffset? ResolvedAt { get; set; }

    /// <summary>When the admins were emailed about it (null: no email, or it could not be sent).</summary>
    public DateTimeOffset? EmailedAt { get; set; }
}

internal sealed class AlertConfiguration : IEntityTypeConfiguration<Alert>
{
    public void Configure(EntityTypeBuilder<Alert> builder)
    {
        builder.ToTable("alerts");
        builder.Property(a => a.Key).HasMaxLength(200);
        builder.Property(a => a.Title).HasMaxLength(200);
        builder.Property(a => a.Message).HasMaxLength(StoredText.MaxLength);
        builder.Property(a => a.Link).HasMaxLength(500);
        // One open alert per problem: raising it again while it lasts is a no-op, even from two places at once.
        builder.HasIndex(a => a.Key).IsUnique().HasFilter("\"ResolvedAt\" IS NULL");
        builder.HasIndex(a => a.RaisedAt);
    }
}
