namespace Portal.Features.Dns;

/// <summary>An account's DNS zone as Portal keeps it (and later publishes to the DNS server).</summary>
public sealed class DnsZone
{
    public long Id { get; set; }

    /// <summary>The account whose zone it is; null for the nodes' zone (<c>Portal:Dns:NodesZone</c>).</summary>
    public long? AccountId { get; set; }

    /// <summary>The zone's name in ASCII, without the final dot.</summary>
    public required string Name { get; set; }

    /// <summary>The SOA serial, YYYYMMDDnn, raised on every change.</summary>
    public long Serial { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The serial the DNS server last confirmed (null: never published); behind <see cref="Serial"/> means due.</summary>
    public long? PublishedSerial { get; set; }

    public List<DnsRecord> Records { get; set; } = [];
}

public sealed class DnsRecord
{
    public long Id { get; set; }

    public long ZoneId { get; set; }

    /// <summary>Relative to the zone: "@" for the apex, "www", "mail"...</summary>
    public required string Name { get; set; }

    public required string Type { get; set; }

    public int Ttl { get; set; }

    /// <summary>The record's data in zone-file form; names are absolute (end with a dot).</summary>
    public required string Content { get; set; }
}

/// <summary>
/// A zone the DNS server still has and Portal no longer does (its account was terminated or moved to another domain):
/// removed from the server by the minute's job, so a DNS server that was down at that moment does not keep answering.
/// </summary>
public sealed class DnsZoneRemoval
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Why the last attempt failed, for the log and the admin.</summary>
    public string? LastError { get; set; }
}

internal sealed class DnsZoneRemovalConfiguration : IEntityTypeConfiguration<DnsZoneRemoval>
{
    public void Configure(EntityTypeBuilder<DnsZoneRemoval> builder)
    {
        builder.ToTable("dns_zone_removals");
        builder.Property(z => z.Name).HasMaxLength(253);
        builder.HasIndex(z => z.Name).IsUnique();
        builder.Property(z => z.LastError).HasMaxLength(2000);
    }
}

internal sealed class DnsZoneConfiguration : IEntityTypeConfiguration<DnsZone>
{
    public void Configure(EntityTypeBuilder<DnsZone> builder)
    {
        builder.ToTable("dns_zones");
        builder.Property(z => z.Name).HasMaxLength(253);
        builder.HasIndex(z => z.Name).IsUnique();
        builder.HasIndex(z => z.AccountId).IsUnique();
        builder.HasOne<Account>().WithOne().HasForeignKey<DnsZone>(z => z.AccountId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(z => z.Records).WithOne().HasForeignKey(r => r.ZoneId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class DnsRecordConfiguration : IEntityTypeConfiguration<DnsRecord>
{
    public void Configure(EntityTypeBuilder<DnsRecord> builder)
    {
        builder.ToTable("dns_records");
        builder.Property(r => r.Name).HasMaxLength(253);
        builder.Property(r => r.Type).HasMaxLength(10);
        builder.Property(r => r.Content).HasMaxLength(2000);
    }
}
