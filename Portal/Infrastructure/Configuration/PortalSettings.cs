using System.ComponentModel.DataAnnotations;

namespace Portal.Infrastructure.Configuration;

/// <summary>
/// Everything a node is configured with (section <c>Portal</c>); <c>appsettings.sample.json</c> explains each
/// setting. Validated at start-up by <see cref="PortalSettingsValidator"/>.
/// </summary>
public sealed class PortalSettings
{
    public const string Section = "Portal";

    /// <summary>This node's name: shown in the UI and used in its cookie names, so two nodes on one host never mix sessions.</summary>
    [Required(ErrorMessage = "Portal:NodeName is required, for example \"parent\".")]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$", ErrorMessage = "Portal:NodeName may hold letters, digits, '-' and '_' (at most 50), starting with a letter or digit.")]
    public string NodeName { get; set; } = "portal";

    /// <summary>The base URL users and other nodes reach this node at (https://panel.example.com). Optional.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>The folder that holds this node's mail (Maildir trees). Must be an absolute path.</summary>
    [Required(ErrorMessage = "Portal:MailRoot is required: the absolute path of the folder that holds this node's mail.")]
    public string MailRoot { get; set; } = "/var/lib/portal/mail";

    /// <summary>Where themes (the JSON files of wwwroot-themes/) are read from. Defaults to the app's themes/ folder.</summary>
    public string? ThemesPath { get; set; }

    /// <summary>
    /// Development and tests only: allows plain HTTP where TLS is otherwise required (session cookies without the
    /// Secure flag, links to nodes over http://). Never turn it on for a node reachable from a network.
    /// </summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>Apply pending database migrations when the node starts (otherwise run <c>Portal migrate</c>).</summary>
    public bool ApplyMigrationsOnStartup { get; set; } = true;

    public JobsSettings Jobs { get; set; } = new();

    public SelfCheckSettings SelfCheck { get; set; } = new();

    public OperationsSettings Operations { get; set; } = new();

    public DistributionSettings Distribution { get; set; } = new();

    public SecuritySettings Security { get; set; } = new();

    public BootstrapSettings Bootstrap { get; set; } = new();

    public DevelopmentSettings Development { get; set; } = new();

    public DnsSettings Dns { get; set; } = new();

    public MailSettings Mail { get; set; } = new();

    public TlsSettings Tls { get; set; } = new();

    public DataProtectionSettings DataProtection { get; set; } = new();

    public TelemetrySettings Telemetry { get; set; } = new();

    public AlertsSettings Alerts { get; set; } = new();
}

/// <summary>
/// When the node's admins are told of a problem (a failed move, a child offline, a mail or DNS server down): in the
/// panel always, and by email when <see cref="SmtpServer"/> is set.
/// </summary>
public sealed class AlertsSettings
{
    /// <summary>How often the node looks for problems (its children's state, its own servers).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Portal:Alerts:CheckInterval must be between 00:00:01 and 01:00:00.")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a child may be offline before the admins are told.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Portal:Alerts:ChildOfflineAfter must be between 00:00:01 and 1.00:00:00.")]
    public TimeSpan ChildOfflineAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The SMTP server alerts are sent through, as host:port: the node's own Postfix (127.0.0.1:25). Empty: no emails.</summary>
    public string? SmtpServer { get; set; }

    /// <summary>The sender of alert emails. Empty: portal@ the node's host name.</summary>
    public string? From { get; set; }

    /// <summary>Who gets alert emails besides the admins of this node that have an email address.</summary>
    public List<string> EmailTo { get; set; } = [];
}

/// <summary>
/// What the node tells monitoring: metrics always (at /metrics for an admin's API token, and on a listener of their
/// own when <see cref="PrometheusListener"/> is set), traces and metrics to an OpenTelemetry collector when
/// <see cref="OtlpEndpoint"/> is set, and one log line per request.
/// </summary>
public sealed class TelemetrySettings
{
    /// <summary>An OpenTelemetry collector (OTLP), for example http://collector:4318. Empty: no traces are kept.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>How to speak to it: HttpProtobuf (port 4318) or Grpc (port 4317).</summary>
    public OtlpProtocolSetting OtlpProtocol { get; set; } = OtlpProtocolSetting.HttpProtobuf;

    /// <summary>
    /// A separate listener that serves the Prometheus metrics (at /metrics) without a token, for example
    /// http://127.0.0.1:9464/ (keep it on an address only the monitoring can reach). Empty: metrics only at /metrics, for an admin's API token.
    /// </summary>
    public string? PrometheusListener { get; set; }

    /// <summary>One structured log line per request (method, path without its query, status, time, user, client address).</summary>
    public bool AccessLog { get; set; } = true;
}

public enum OtlpProtocolSetting
{
    HttpProtobuf,
    Grpc,
}

/// <summary>
/// The panel's own certificate, for the https:// addresses it listens on (ASPNETCORE_URLS / --urls). Both files are
/// read again when they change (a renewal needs no restart).
/// </summary>
public sealed class TlsSettings
{
    /// <summary>The certificate in PEM, followed by its chain. Empty: the node serves no HTTPS of its own.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>Its private key in PEM (unencrypted; readable by the node's user only).</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// How long browsers keep to HTTPS after a visit (Strict-Transport-Security), sent with every HTTPS answer (served
    /// here or by a trusted proxy that terminates TLS); 0 sends none.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "730.00:00:00", ErrorMessage = "Portal:Tls:HstsMaxAge must be between 00:00:00 and 730.00:00:00.")]
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);

    public bool Enabled => !string.IsNullOrEmpty(CertificateFile);

    /// <summary>
    /// AutoSSL writes the panel's certificate into <see cref="CertificateFile"/> and <see cref="KeyFile"/> for the host
    /// of <c>Portal:PublicUrl</c>: a parent issues its own (through <c>Portal:Dns:NodesZone</c>), a child gets it from
    /// its parent. Until the first arrives the panel serves a self-signed certificate for that host.
    /// </summary>
    public bool CertificateFromAutoSsl { get; set; }

    /// <summary>AutoSSL: the certificate authority the parent asks for its accounts' certificates.</summary>
    public AcmeSettings Acme { get; set; } = new();
}

/// <summary>AutoSSL's certificate authority (an ACME server) and when certificates are renewed.</summary>
public sealed class AcmeSettings
{
    /// <summary>The ACME directory (Let's Encrypt's, or a test CA's such as Pebble). Empty: AutoSSL is off on this node.</summary>
    public string? DirectoryUrl { get; set; }

    /// <summary>
    /// A PEM file of the roots the ACME server's own HTTPS certificate must chain to, instead of the machine's: for a
    /// test CA (Pebble) only. Empty: the machine's trust store, as for Let's Encrypt.
    /// </summary>
    public string? TrustedRootsFile { get; set; }

    /// <summary>The address the CA may write to about this node's certificates (optional).</summary>
    public string? ContactEmail { get; set; }

    /// <summary>A certificate is renewed once it has less than this left (Let's Encrypt's own advice: a third of 90 days).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "60.00:00:00", ErrorMessage = "Portal:Tls:Acme:RenewBefore must be between 1.00:00:00 and 60.00:00:00.")]
    public TimeSpan RenewBefore { get; set; } = TimeSpan.FromDays(30);

    /// <summary>When AutoSSL looks for certificates to issue or renew (a cron expression, UTC).</summary>
    [Required(ErrorMessage = "Portal:Tls:Acme:Schedule is required: a cron expression such as \"7 */3 * * *\".")]
    public string Schedule { get; set; } = "7 */3 * * *";

    public bool Enabled => !string.IsNullOrEmpty(DirectoryUrl);
}

/// <summary>Where the certificate lives that encrypts the Data Protection keys in the database.</summary>
public sealed class DataProtectionSettings
{
    /// <summary>
    /// A PEM file with the certificate and its private key (made on first start if missing, readable by the node's user
    /// only). Empty: "secrets/data-protection-keys.pem" next to the mail root. Back it up with the node: the stored
    /// keys, and the node tokens and sessions they protect, cannot be read without it.
    /// </summary>
    public string? CertificateFile { get; set; }

    public string CertificateFileFor(string mailRoot) =>
        CertificateFile is { Length: > 0 } file ? file : Path.Combine(Path.GetDirectoryName(mailRoot.TrimEnd('/')) ?? "/", "secrets", "data-protection-keys.pem");
}

public enum SuspendedMail
{
    Keep,
    Refuse,
}

public sealed class MailSettings
{
    /// <summary>When each account's mail is measured (a cron expression, UTC): the Disk column and quota warnings.</summary>
    [Required(ErrorMessage = "Portal:Mail:UsageSchedule is required: a cron expression such as \"*/15 * * * *\".")]
    public string UsageSchedule { get; set; } = "*/15 * * * *";

    /// <summary>
    /// Where Postfix's submission services ask how much a mailbox may still send (ADDRESS:PORT on this host, as
    /// scripts/mail-servers sets it; empty: no limit is kept).
    /// </summary>
    public string? SendingPolicy { get; set; }

    /// <summary>The most messages one mailbox sends through this node in an hour (then they wait: 450).</summary>
    [Range(1, 1_000_000, ErrorMessage = "Portal:Mail:SendLimitPerHour must be between 1 and 1000000.")]
    public int SendLimitPerHour { get; set; } = 300;

    /// <summary>The most recipients one mailbox's messages reach in an hour.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Portal:Mail:RecipientLimitPerHour must be between 1 and 10000000.")]
    public int RecipientLimitPerHour { get; set; } = 1000;

    /// <summary>Folder for the files Dovecot and Postfix read (passwd-file, maps). Empty: "mail-state" next to the mail root.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>The system user and group that own the Maildirs.</summary>
    [Range(1, 65535, ErrorMessage = "Portal:Mail:Uid must be between 1 and 65535.")]
    public int Uid { get; set; } = 5000;

    [Range(1, 65535, ErrorMessage = "Portal:Mail:Gid must be between 1 and 65535.")]
    public int Gid { get; set; } = 5000;

    /// <summary>doveadm, to end IMAP/POP3 sessions when mail moves. Empty: this node runs no Dovecot.</summary>
    public string? Doveadm { get; set; }

    /// <summary>The Dovecot configuration doveadm talks to (doveadm -c FILE). Empty: Dovecot's default.</summary>
    public string? DovecotConfig { get; set; }

    /// <summary>
    /// Postfix's postmap, to compile the maps Portal publishes (hash: tables) after every change. Empty: this node runs
    /// no Postfix (the maps are still written, as text).
    /// </summary>
    public string? Postmap { get; set; }

    /// <summary>The Postfix configuration folder of this node's instance (postmap -c DIR, postfix -c DIR status).</summary>
    public string? PostfixConfig { get; set; }

    /// <summary>
    /// nginx, which serves this node's webmail (scripts/webmail): reloaded when the certificates of webmail.&lt;domain&gt;
    /// names change. Empty: this node serves no webmail.
    /// </summary>
    public string? Nginx { get; set; }

    /// <summary>The configuration of this node's nginx (nginx -c FILE -s reload). Empty: nginx's default.</summary>
    public string? NginxConfig { get; set; }

    /// <summary>
    /// Run doveadm and postfix through <c>sudo -n</c> (a node running as its own unprivileged user; deploy/sudoers
    /// allows it exactly the commands Portal runs).
    /// </summary>
    public bool Sudo { get; set; }

    /// <summary>How long one run of doveadm, postfix or postmap may take; a hung one is stopped, with what it started.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Portal:Mail:CommandTimeout must be between 00:00:01 and 00:10:00.")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Where account owners whose mail is on this node read it on the web; "{domain}" is replaced by the account's domain
    /// (for example "https://webmail.{domain}/"). Empty: this node offers no webmail. Owners whose mail is on a child are
    /// sent to https://webmail.&lt;domain&gt;/, which DNS points at the child.
    /// </summary>
    public string? WebmailUrl { get; set; }

    /// <summary>
    /// What this node's mail server does with mail for a suspended account: Keep (the default) accepts and stores it, so a
    /// customer who pays again has lost nothing; Refuse answers senders at once with a permanent "550 5.2.1" and a
    /// plain reason, instead of the bounce days later that an unknown mailbox would give. Set it alike on every node of
    /// a linked set: each node applies its own to the accounts whose mail it receives.
    /// </summary>
    public SuspendedMail SuspendedAccountMail { get; set; } = SuspendedMail.Keep;

    /// <summary>Quota of a new email account when none is given, in MiB (0: none).</summary>
    [Range(0, 10_485_760, ErrorMessage = "Portal:Mail:DefaultQuotaMegabytes must be between 0 and 10485760.")]
    public int DefaultQuotaMegabytes { get; set; } = 1024;

    public string StateDirectoryFor(string mailRoot) =>
        StateDirectory is { Length: > 0 } dir ? dir : Path.Combine(Path.GetDirectoryName(mailRoot.TrimEnd('/')) ?? "/", "mail-state");
}

/// <summary>What this node puts in the DNS zones it keeps, and what it tells its parent about itself.</summary>
public sealed class DnsSettings
{
    /// <summary>This node's public IPv4 address: an account's domain and www point here on the parent, mail. and webmail. on a mail child.</summary>
    [Required(ErrorMessage = "Portal:Dns:PublicIPv4 is required: this node's public IPv4 address, for the DNS records that point at it.")]
    public string PublicIPv4 { get; set; } = "127.0.0.1";

    /// <summary>The authoritative name servers of the zones (host names). Empty: ns1 and ns2 under the node's public host name.</summary>
    public List<string> NameServers { get; set; } = [];

    /// <summary>The zones' contact, as an email address (hostmaster@example.com). Empty: hostmaster@ the zone's own domain.</summary>
    public string? Hostmaster { get; set; }

    /// <summary>Time to live of the records, in seconds.</summary>
    [Range(60, 604800, ErrorMessage = "Portal:Dns:Ttl must be between 60 and 604800 seconds.")]
    public int Ttl { get; set; } = 3600;

    /// <summary>
    /// The Public Suffix List (Debian's publicsuffix package keeps it current): an account may not take a public suffix
    /// as its domain.
    /// </summary>
    public string PublicSuffixList { get; set; } = "/usr/share/publicsuffix/public_suffix_list.dat";

    /// <summary>
    /// The zone of the nodes' own host names (nodes.example.net), delegated to this parent's DNS: it answers an A record
    /// for this node's and each child's panel host name lying under it, and holds the DNS-01 records of their panel
    /// certificates (<c>Portal:Tls:CertificateFromAutoSsl</c>). No account may take it or a name in it. Empty: none.
    /// </summary>
    public string? NodesZone { get; set; }

    /// <summary>The PowerDNS authoritative server the zones are published to; off while its ApiUrl is empty.</summary>
    public PowerDnsSettings PowerDns { get; set; } = new();
}

public sealed class PowerDnsSettings
{
    /// <summary>PowerDNS's HTTP API (its webserver), for example http://127.0.0.1:8081/. Empty: zones are kept in Portal only.</summary>
    public string? ApiUrl { get; set; }

    /// <summary>A file holding the API key (a secret: kept out of settings and logs).</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>The PowerDNS server id in its API.</summary>
    public string ServerId { get; set; } = "localhost";
}

/// <summary>Settings for development and tests only; the node refuses them unless AllowInsecureHttp is on.</summary>
public sealed class DevelopmentSettings
{
    /// <summary>The version this node reports instead of its build's (to try the version rules of linking).</summary>
    public string? ReportedVersion { get; set; }

    /// <summary>The free space this node reports for its mail partition instead of the real one (to try disk checks).</summary>
    public long? ReportedMailFreeBytes { get; set; }

    /// <summary>Damage this many of the first mail files received, as a bad link would (to try the resending).</summary>
    [Range(0, 1000, ErrorMessage = "Portal:Development:CorruptReceivedMailFiles must be between 0 and 1000.")]
    public int CorruptReceivedMailFiles { get; set; }

    /// <summary>Damage every mail archive built here after its manifest is made, as a bad disk would (to try the rejection).</summary>
    public bool CorruptMailArchives { get; set; }
}

public sealed class OperationsSettings
{
    /// <summary>Shortest time between two progress writes (and live updates) of one operation.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:10", ErrorMessage = "Portal:Operations:ProgressInterval must be between 00:00:00.050 and 00:00:10.")]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

public sealed class DistributionSettings
{
    /// <summary>How long a dedistributed account's copy stays on the child before it is deleted (cached DNS expires meanwhile).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00", ErrorMessage = "Portal:Distribution:ChildAccountRetention must be between 00:00:01 and 365.00:00:00.")]
    public TimeSpan ChildAccountRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Spare room a move keeps on the target's mail partition: a share of the mail's size...</summary>
    [Range(0, 1000, ErrorMessage = "Portal:Distribution:DiskMarginPercent must be between 0 and 1000.")]
    public int DiskMarginPercent { get; set; } = 10;

    /// <summary>...plus this many MiB.</summary>
    [Range(0, 1_048_576, ErrorMessage = "Portal:Distribution:DiskMarginMegabytes must be between 0 and 1048576.")]
    public int DiskMarginMegabytes { get; set; } = 100;

    /// <summary>How long the parent waits for a child when it calls it on an account owner's behalf (their mail pages and API).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00", ErrorMessage = "Portal:Distribution:ProxyTimeout must be between 00:00:01 and 00:01:00.")]
    public TimeSpan ProxyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a move keeps retrying while the other node cannot be reached.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "7.00:00:00", ErrorMessage = "Portal:Distribution:RetryWindow must be between 00:00:05 and 7.00:00:00.")]
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A mail copy streams its files in batches of at most this many MiB...</summary>
    // Up to what a receiver takes (MailBatchFormat.ReceiverLimitBytes, ReceiverLimitFiles).
    [Range(1, 4096, ErrorMessage = "Portal:Distribution:BatchMegabytes must be between 1 and 4096.")]
    public int BatchMegabytes { get; set; } = 64;

    /// <summary>...and at most this many files; each batch is made durable at once.</summary>
    [Range(1, 100_000, ErrorMessage = "Portal:Distribution:BatchFiles must be between 1 and 100000.")]
    public int BatchFiles { get; set; } = 5_000;

    /// <summary>
    /// How many moves run with one linked node at once; more wait their turn (their log says so) while moves to other
    /// nodes take the job workers (Portal:Jobs:WorkerCount).
    /// </summary>
    [Range(1, 64, ErrorMessage = "Portal:Distribution:MovesPerNode must be between 1 and 64.")]
    public int MovesPerNode { get; set; } = 2;
}

public sealed class SecuritySettings
{
    /// <summary>Failed sign-ins in a row before an account is locked out.</summary>
    [Range(1, 100, ErrorMessage = "Portal:Security:MaxFailedSignIns must be between 1 and 100.")]
    public int MaxFailedSignIns { get; set; } = 5;

    /// <summary>
    /// Admins of this node must sign in with a second factor (an authenticator app's code, or a recovery code): an admin
    /// without it is sent to set it up before any admin page opens, and cannot turn it off. API tokens are unaffected.
    /// </summary>
    public bool RequireTwoFactorForAdmins { get; set; }

    /// <summary>How long a locked-out account stays locked.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00", ErrorMessage = "Portal:Security:LockoutDuration must be between 00:00:01 and 30.00:00:00.")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Further origins (scheme://host[:port]) allowed to open the live UI connection, besides the node's own.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Requests to the public API (/api/v1) one API token may make per minute; more get 429 with Retry-After.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Portal:Security:ApiRequestsPerMinutePerToken must be between 1 and 1000000.")]
    public int ApiRequestsPerMinutePerToken { get; set; } = 600;

    /// <summary>Requests to the public API one client address may make per minute, whatever token (or none) they carry.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Portal:Security:ApiRequestsPerMinutePerAddress must be between 1 and 1000000.")]
    public int ApiRequestsPerMinutePerAddress { get; set; } = 1_200;

    /// <summary>Sign-in attempts one client address may make per minute (checked before the password).</summary>
    [Range(1, 100_000, ErrorMessage = "Portal:Security:SignInAttemptsPerMinutePerAddress must be between 1 and 100000.")]
    public int SignInAttemptsPerMinutePerAddress { get; set; } = 30;

    /// <summary>Sign-in attempts for one user name per minute, from anywhere (checked before the password).</summary>
    [Range(1, 100_000, ErrorMessage = "Portal:Security:SignInAttemptsPerMinutePerUserName must be between 1 and 100000.")]
    public int SignInAttemptsPerMinutePerUserName { get; set; } = 10;

    /// <summary>
    /// Reverse proxies (addresses, or networks as address/prefix) whose X-Forwarded-For and X-Forwarded-Proto this
    /// node believes. Empty: the connection's own address is the client's (the headers are ignored).
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];
}

public sealed class BootstrapSettings
{
    /// <summary>The first admin's user name, created at start-up when <see cref="AdminPasswordFile"/> is set.</summary>
    [RegularExpression("^[a-z][a-z0-9._-]{2,31}$", ErrorMessage = "Portal:Bootstrap:AdminUserName must be 3-32 lowercase letters, digits, '.', '_' or '-', starting with a letter.")]
    public string AdminUserName { get; set; } = "admin";

    /// <summary>
    /// A file holding the first admin's password. If the file does not exist, a strong password is generated and
    /// written there (mode 0600). The password never appears in logs or on the command line.
    /// </summary>
    public string? AdminPasswordFile { get; set; }

    /// <summary>The first admin's email address, where the node's alerts reach them (Portal:Alerts). Optional.</summary>
    [EmailAddress(ErrorMessage = "Portal:Bootstrap:AdminEmail must be an email address, such as ops@example.com.")]
    public string? AdminEmail { get; set; }

    /// <summary>
    /// A file for an API token of the first admin (for automation and tests). If the file does not exist, a token is
    /// created and written there (mode 0600); a token the node no longer knows is replaced, a revoked one is not.
    /// </summary>
    public string? AdminApiTokenFile { get; set; }
}
