namespace Portal.Features.Mail;

/// <summary>A mailbox whose owner was told it is nearly full; removed once it has room again, so the next time warns again.</summary>
public sealed class MailboxQuotaWarning
{
    public required string Address { get; set; }

    public long AccountId { get; set; }

    public int Percent { get; set; }

    public DateTimeOffset WarnedAt { get; set; }
}

internal sealed class MailboxQuotaWarningConfiguration : IEntityTypeConfiguration<MailboxQuotaWarning>
{
    public void Configure(EntityTypeBuilder<MailboxQuotaWarning> builder)
    {
        builder.ToTable("mailbox_quota_warnings");
        builder.HasKey(w => w.Address);
        builder.Property(w => w.Address).HasMaxLength(320).UseCollation("C");
        builder.HasIndex(w => w.AccountId);
        builder.HasOne<Account>().WithMany().HasForeignKey(w => w.AccountId).OnDelete(DeleteBehavior.Cascade);
    }
}
