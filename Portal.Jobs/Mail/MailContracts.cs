namespace Portal.Jobs.Mail;

// The mail functions' wire format: the public API, and the node API a parent uses for an account whose mail a
// child serves.

public sealed record EmailAccountRow(string Address, long QuotaBytes, long UsedBytes, long Messages, DateTimeOffset CreatedAt);

public sealed record NewEmailAccount(string LocalPart, string Password, int? QuotaMegabytes = null);

public sealed record PasswordChange(string Password);

public sealed record ForwarderRow(long Id, string Source, string Destination, bool IsPipe, bool Enabled);

public sealed record NewForwarder(string LocalPart, string Destination, bool IsPipe = false);

/// <summary>An account's mail configuration as it moves between nodes (hashes, never passwords).</summary>
public sealed record MailConfiguration(IReadOnlyList<MailAddressConfig> Addresses, IReadOnlyList<MailForwarderConfig> Forwarders);

public sealed record MailAddressConfig(string LocalPart, string PasswordHash, long QuotaBytes, DateTimeOffset CreatedAt);

public sealed record MailForwarderConfig(string Source, string Destination, bool IsPipe, bool Enabled);

/// <summary>A child takes over an account's mail configuration; pipes arrive disabled.</summary>
public sealed record MailConfigurationImport(MailConfiguration Configuration, bool DisablePipes);
