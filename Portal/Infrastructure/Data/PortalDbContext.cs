using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;

namespace Portal.Infrastructure.Data;

public sealed class PortalDbContext(DbContextOptions<PortalDbContext> options)
    : IdentityDbContext<PortalUser>(options), IDataProtectionKeyContext
{
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    public DbSet<Operation> Operations => Set<Operation>();

    public DbSet<OperationLogEntry> OperationLog => Set<OperationLogEntry>();

    public DbSet<OperationCheckpoint> OperationCheckpoints => Set<OperationCheckpoint>();

    public DbSet<NodeIdentity> NodeIdentity => Set<NodeIdentity>();

    public DbSet<LinkedNode> LinkedNodes => Set<LinkedNode>();

    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();

    public DbSet<Account> Accounts => Set<Account>();

    public DbSet<ResellerSettings> ResellerSettings => Set<ResellerSettings>();

    public DbSet<Package> Packages => Set<Package>();

    public DbSet<DnsZone> DnsZones => Set<DnsZone>();

    public DbSet<DnsRecord> DnsRecords => Set<DnsRecord>();

    public DbSet<DnsZoneRemoval> DnsZoneRemovals => Set<DnsZoneRemoval>();

    public DbSet<EmailAccount> EmailAccounts => Set<EmailAccount>();

    public DbSet<Forwarder> Forwarders => Set<Forwarder>();

    public DbSet<Notification> Notifications => Set<Notification>();

    public DbSet<MailboxQuotaWarning> MailboxQuotaWarnings => Set<MailboxQuotaWarning>();

    public DbSet<Alert> Alerts => Set<Alert>();

    public DbSet<ChildAccountDeletion> ChildAccountDeletions => Set<ChildAccountDeletion>();

    public DbSet<PasswordPolicy> PasswordPolicies => Set<PasswordPolicy>();

    public DbSet<PasswordSettings> PasswordSettings => Set<PasswordSettings>();

    public DbSet<TlsCertificate> TlsCertificates => Set<TlsCertificate>();

    public DbSet<AcmeAccountKey> AcmeAccountKeys => Set<AcmeAccountKey>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(PortalDbContext).Assembly);
        builder.Entity<PortalUser>().Property(u => u.ThemeId).HasMaxLength(64);
    }
}
