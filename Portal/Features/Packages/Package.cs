namespace Portal.Features.Packages;

/// <summary>
/// A hosting plan: what an account made from it gets (features, IPv6, its mail limit, how many mailboxes) and where its
/// mail starts. Admins define packages; admins and resellers create accounts from them. Changing a package changes its
/// accounts (<see cref="PackageService.UpdateAsync"/>), after a preview of what changes for each.
/// </summary>
public sealed class Package
{
    public long Id { get; set; }

    /// <summary>Shown to admins and resellers, unique whatever its case ("Basic" and "basic" are one name).</summary>
    public required string Name { get; set; }

    public List<string> Features { get; set; } = [];

    public bool Ipv6Enabled { get; set; }

    /// <summary>The account's mail limit in MiB (<see cref="Account.MailQuotaMegabytes"/>); null: none.</summary>
    public int? MailQuotaMegabytes { get; set; }

    /// <summary>How many mailboxes (email accounts) an account may have; null: no limit. Read when a mailbox is created.</summary>
    public int? MaxMailboxes { get; set; }

    /// <summary>Where the mail of a new root-owned account starts; a reseller's accounts start where the reseller's routing says.</summary>
    public MailRoutingKind MailRouting { get; set; }

    /// <summary>With <see cref="MailRoutingKind.Node"/>: the child.</summary>
    public Guid? MailNodeId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public MailRouting Routing => new(MailRouting, MailRouting == MailRoutingKind.Node ? MailNodeId : null);
}

internal sealed class PackageConfiguration : IEntityTypeConfiguration<Package>
{
    public void Configure(EntityTypeBuilder<Package> builder)
    {
        builder.ToTable("packages");
        builder.Property(p => p.Name).HasMaxLength(PackageService.MaxNameLength);
        builder.Property(p => p.MailRouting).HasConversion<string>().HasMaxLength(16);
        builder.Ignore(p => p.Routing);
        // Unique by lower-case name, so "Basic" and "basic" cannot both exist however they are written.
        builder.Property<string>("LowerName").HasMaxLength(PackageService.MaxNameLength).HasComputedColumnSql("lower(\"Name\")", stored: true);
        builder.HasIndex("LowerName").IsUnique();

        // A package in use cannot be deleted: its accounts would lose what says what they are.
        builder.HasMany<Account>().WithOne().HasForeignKey(a => a.PackageId).OnDelete(DeleteBehavior.Restrict);
    }
}
