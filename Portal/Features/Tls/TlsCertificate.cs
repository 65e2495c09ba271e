namespace Portal.Features.Tls;

/// <summary>
/// A certificate as AutoSSL keeps it: the names it covers, the chain and its private key (protected with the node's
/// Data Protection keys), and how its last attempt went. One per account, and one per node's panel host name.
/// </summary>
public sealed class TlsCertificate
{
    public long Id { get; set; }

    /// <summary>The account it is for; null for a node's panel certificate (<see cref="HostName"/>).</summary>
    public long? AccountId { get; set; }

    /// <summary>The panel host name of a node (this one, or a child) it is for; null for an account's.</summary>
    public string? HostName { get; set; }

    /// <summary>The names it was asked for (the domain first): the account's names when it was last issued or tried.</summary>
    public List<string> Names { get; set; } = [];

    /// <summary>The certificate and its chain (PEM); null until one was issued.</summary>
    public string? ChainPem { get; set; }

    /// <summary>The private key (PKCS#8 PEM), protected (<see cref="AutoSslService"/>); never shown or logged.</summary>
    public string? ProtectedKey { get; set; }

    public string? Issuer { get; set; }

    public DateTimeOffset? NotBefore { get; set; }

    public DateTimeOffset? NotAfter { get; set; }

    public DateTimeOffset? IssuedAt { get; set; }

    public DateTimeOffset? LastAttemptAt { get; set; }

    /// <summary>Why the last attempt failed (null: it succeeded).</summary>
    public string? LastError { get; set; }

    /// <summary>Attempts that failed in a row; each doubles the wait before the next (<see cref="NextAttemptAt"/>).</summary>
    public int Failures { get; set; }

    public DateTimeOffset? NextAttemptAt { get; set; }
}

/// <summary>This node's account with an ACME server: its key (protected) and the URL the server gave it.</summary>
public sealed class AcmeAccountKey
{
    public long Id { get; set; }

    public required string DirectoryUrl { get; set; }

    public required string ProtectedKey { get; set; }

    public string? AccountUrl { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class TlsCertificateConfiguration : IEntityTypeConfiguration<TlsCertificate>
{
    public void Configure(EntityTypeBuilder<TlsCertificate> builder)
    {
        builder.ToTable("tls_certificates", t => t.HasCheckConstraint("ck_tls_certificates_subject", "(\"AccountId\" IS NULL) <> (\"HostName\" IS NULL)"));
        builder.HasIndex(c => c.AccountId).IsUnique();
        builder.Property(c => c.HostName).HasMaxLength(253);
        builder.HasIndex(c => c.HostName).IsUnique();
        builder.HasOne<Account>().WithMany().HasForeignKey(c => c.AccountId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(c => c.Issuer).HasMaxLength(500);
        builder.Property(c => c.LastError).HasMaxLength(2000);
        builder.HasIndex(c => c.NotAfter);
    }
}

internal sealed class AcmeAccountKeyConfiguration : IEntityTypeConfiguration<AcmeAccountKey>
{
    public void Configure(EntityTypeBuilder<AcmeAccountKey> builder)
    {
        builder.ToTable("acme_account_keys");
        builder.Property(a => a.DirectoryUrl).HasMaxLength(500);
        builder.HasIndex(a => a.DirectoryUrl).IsUnique();
        builder.Property(a => a.AccountUrl).HasMaxLength(500);
    }
}
