namespace Portal.Features.Mail;

/// <summary>An email account (mailbox) of a hosting account, kept on the node that serves the account's mail.</summary>
public sealed class EmailAccount
{
    public long Id { get; set; }

    public long AccountId { get; set; }

    public required string LocalPart { get; set; }

    public required string Domain { get; set; }

    /// <summary>local@domain, lowercase ASCII; unique on the node.</summary>
    public required string Address { get; set; }

    /// <summary>"{SHA512-CRYPT}$6$..." as Dovecot verifies it; never the password itself.</summary>
    public required string PasswordHash { get; set; }

    /// <summary>0: no quota.</summary>
    public long QuotaBytes { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset PasswordChangedAt { get; set; }

    /// <summary>Its autoresponder and filters (JSON of a <see cref="MailboxSieve"/>), null for none.</summary>
    public string? SieveJson { get; set; }

    public MailboxSieve? Sieve
    {
        get => ParseSieve(SieveJson);
        set => SieveJson = value is null || value.IsEmpty && value.Vacation is null ? null : JsonSerializer.Serialize(value, JsonSerializerOptions.Web);
    }

    public static MailboxSieve? ParseSieve(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<MailboxSieve>(json, JsonSerializerOptions.Web);
}

/// <summary>A forwarder of an account's address: to another address, or (pipe) to a program.</summary>
public sealed class Forwarder
{
    public long Id { get; set; }

    public long AccountId { get; set; }

    public required string Source { get; set; }

    public required string Destination { get; set; }

    public bool IsPipe { get; set; }

    /// <summary>Pipes are disabled while an account's mail lives on a child node.</summary>
    public bool Enabled { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class EmailAccountConfiguration : IEntityTypeConfiguration<EmailAccount>
{
    public void Configure(EntityTypeBuilder<EmailAccount> builder)
    {
        builder.ToTable("email_accounts");
        builder.Property(e => e.LocalPart).HasMaxLength(64).UseCollation("C");
        builder.Property(e => e.Domain).HasMaxLength(253).UseCollation("C");
        builder.Property(e => e.Address).HasMaxLength(320).UseCollation("C");
        builder.Property(e => e.PasswordHash).HasMaxLength(200);
        builder.Property(e => e.SieveJson).HasColumnType("jsonb");
        builder.Ignore(e => e.Sieve);
        builder.HasIndex(e => e.Address).IsUnique();
        builder.HasIndex(e => e.AccountId);
        builder.HasOne<Account>().WithMany().HasForeignKey(e => e.AccountId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ForwarderConfiguration : IEntityTypeConfiguration<Forwarder>
{
    public void Configure(EntityTypeBuilder<Forwarder> builder)
    {
        builder.ToTable("forwarders");
        builder.Property(f => f.Source).HasMaxLength(320).UseCollation("C");
        builder.Property(f => f.Destination).HasMaxLength(1000);
        builder.HasIndex(f => new { f.AccountId, f.Source });
        builder.HasOne<Account>().WithMany().HasForeignKey(f => f.AccountId).OnDelete(DeleteBehavior.Cascade);
    }
}
