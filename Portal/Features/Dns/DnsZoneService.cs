using System.Text;

namespace Portal.Features.Dns;

public sealed record ZoneView(string Name, string UnicodeName, long Serial, DateTimeOffset UpdatedAt, IReadOnlyList<DnsRecordView> Records);

public sealed record DnsRecordView(string Name, string Type, int Ttl, string Content);

/// <summary>The records of one name and type, with absolute names: what a DNS server's API takes.</summary>
public sealed record DnsRecordSet(string Name, string Type, int Ttl, IReadOnlyList<string> Contents);

/// <summary>
/// Keeps each account's zone: the domain and www point at the parent; mail., webmail., the MX and the SPF record follow
/// the node that serves the account's mail, and are rewritten when it moves. Exports a standard zone file.
/// </summary>
public sealed class DnsZoneService(IDbContextFactory<PortalDbContext> dbFactory, IOptions<PortalSettings> settings, TimeProvider clock)
{
    private DnsSettings Dns => settings.Value.Dns;

    /// <summary>Adds the zone of a new account to the caller's unit of work (it commits with the account).</summary>
    public void AddZone(PortalDbContext db, Account account, string mailIPv4)
    {
        db.DnsZones.Add(new DnsZone
        {
            Name = account.Domain,
            AccountId = account.Id,
            Serial = NextSerial(0),
            UpdatedAt = clock.GetUtcNow(),
            Records = BuildRecords(account.Domain, mailIPv4),
        });
    }

    /// <summary>Points mail., webmail., MX and SPF at the node that now serves the account's mail.</summary>
    public async Task SetMailAddressAsync(PortalDbContext db, long accountId, string mailIPv4, CancellationToken cancellationToken)
    {
        var zone = await db.DnsZones.Include(z => z.Records).SingleAsync(z => z.AccountId == accountId, cancellationToken);
        // AutoSSL's challenge records stay: a move in the middle of a validation must not take them away.
        var challenges = zone.Records.Where(IsAcmeChallenge).ToList();
        db.DnsRecords.RemoveRange(zone.Records.Except(challenges));
        zone.Records = [.. BuildRecords(zone.Name, mailIPv4), .. challenges];
        zone.Serial = NextSerial(zone.Serial);
        zone.UpdatedAt = clock.GetUtcNow();
    }

    /// <summary>The first label of the TXT records of DNS-01 challenges (RFC 8555 section 8.4).</summary>
    public const string AcmeChallengeLabel = "_acme-challenge";

    private static bool IsAcmeChallenge(DnsRecord record) =>
        record.Type == "TXT" && (record.Name == AcmeChallengeLabel || record.Name.StartsWith(AcmeChallengeLabel + ".", StringComparison.Ordinal));

    /// <summary>
    /// Adds (or, <paramref name="present"/> false, removes) the TXT record of a DNS-01 challenge for
    /// <paramref name="name"/> (<c>_acme-challenge.&lt;a name in an account's zone&gt;</c>) to the zone that holds it,
    /// and raises the zone's serial. Returns the zone's id, to publish it.
    /// </summary>
    public async Task<long> SetAcmeChallengeAsync(string name, string value, bool present, CancellationToken ct)
    {
        name = name.TrimEnd('.').ToLowerInvariant();
        if (!name.StartsWith(AcmeChallengeLabel + ".", StringComparison.Ordinal) || value.Length is 0 or > 100 || value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            throw new PortalValidationException($"\"{name}\" with \"{value}\" is not a DNS-01 challenge record.", null, "dns.acme_challenge");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var candidates = Enumerable.Range(0, name.Count(c => c == '.')).Select(i => string.Join('.', name.Split('.').Skip(i + 1))).ToList();
        var zone = await db.DnsZones.Include(z => z.Records).Where(z => candidates.Contains(z.Name)).OrderByDescending(z => z.Name.Length).FirstOrDefaultAsync(ct)
            ?? throw new PortalNotFoundException($"No zone on this node holds {name[(AcmeChallengeLabel.Length + 1)..]}: its certificate cannot be validated through this node's DNS.");
        var relative = name[..^(zone.Name.Length + 1)];
        var content = $"\"{value}\"";
        var existing = zone.Records.Where(r => r.Type == "TXT" && r.Name == relative && r.Content == content).ToList();
        if (present && existing.Count == 0)
        {
            zone.Records.Add(Record(relative, "TXT", 60, content));
        }
        else if (!present && existing.Count > 0)
        {
            db.DnsRecords.RemoveRange(existing);
        }
        else
        {
            return zone.Id;
        }

        zone.Serial = NextSerial(zone.Serial);
        zone.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return zone.Id;
    }

    /// <summary>
    /// Keeps the nodes' zone (<c>Portal:Dns:NodesZone</c>) as the nodes are: its name servers, and an A record for this
    /// node's panel host and each child's that lies in it and that this node takes (<see cref="PanelHost.ChildClaims"/>),
    /// at the address the child reported. Challenge records stay. Returns the zone's id when it changed, to publish it.
    /// </summary>
    /// <exception cref="InvalidOperationException">An account's zone has the name (it was made before the setting).</exception>
    public async Task<long?> SyncNodesZoneAsync(CancellationToken ct)
    {
        if (Dns.NodesZone is not { Length: > 0 } configured)
        {
            return null;
        }

        var name = configured.TrimEnd('.').ToLowerInvariant();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var hosts = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var own = PanelHost.Of(settings.Value);
        if (own is not null && PanelHost.IsIn(own, name))
        {
            hosts[own] = Dns.PublicIPv4;
        }

        var children = await db.LinkedNodes.AsNoTracking()
            .OrderBy(n => n.LinkedAt).Select(n => new { n.Alias, n.BaseUrl, Host = n.PanelHostName, n.PublicIPv4 }).ToListAsync(ct);
        var addresses = children.ToDictionary(c => c.Alias, c => c.PublicIPv4);
        foreach (var claim in PanelHost.ChildClaims(own, children.Select(c => (c.Alias, c.BaseUrl, c.Host)).ToList()))
        {
            if (claim.Problem is null && addresses[claim.Node] is { } address && PanelHost.IsIn(claim.Host, name))
            {
                hosts.TryAdd(claim.Host, address);
            }
        }

        var wanted = NameServers(name).Select(ns => Record("@", "NS", Dns.Ttl, ns))
            .Concat(hosts.Select(h => Record(h.Key[..^(name.Length + 1)], "A", Dns.Ttl, h.Value))).ToList();
        var zone = await db.DnsZones.Include(z => z.Records).SingleOrDefaultAsync(z => z.Name == name, ct);
        if (zone is { AccountId: not null })
        {
            throw new InvalidOperationException($"Portal:Dns:NodesZone is {name}, which is an account's zone here; give the nodes a zone of their own.");
        }

        if (zone is null)
        {
            zone = new DnsZone { Name = name, Serial = NextSerial(0), UpdatedAt = clock.GetUtcNow() };
            db.DnsZones.Add(zone);
        }
        else
        {
            static string Key(DnsRecord r) => $"{r.Name} {r.Type} {r.Ttl} {r.Content}";
            var kept = zone.Records.Where(r => !IsAcmeChallenge(r)).Select(Key).Order(StringComparer.Ordinal);
            if (kept.SequenceEqual(wanted.Select(Key).Order(StringComparer.Ordinal)))
            {
                return null;
            }

            db.DnsRecords.RemoveRange(zone.Records.Where(r => !IsAcmeChallenge(r)));
            zone.Serial = NextSerial(zone.Serial);
            zone.UpdatedAt = clock.GetUtcNow();
        }

        zone.Records.AddRange(wanted);
        await db.SaveChangesAsync(ct);
        return zone.Id;
    }

    public async Task<ZoneView> GetAsync(Actor actor, string username, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await AccountAccess.FindVisibleAsync(db, actor, username, cancellationToken);
        var zone = await db.DnsZones.AsNoTracking().Include(z => z.Records).SingleOrDefaultAsync(z => z.AccountId == account.Id, cancellationToken)
            ?? throw new PortalNotFoundException($"Account {username} has no DNS zone on this node.");
        return ViewOf(zone);
    }

    /// <summary>A zone as the pages, the zone file and the DNS server see it: records ordered NS, A, CNAME, MX, the rest.</summary>
    public static ZoneView ViewOf(DnsZone zone)
    {
        var records = zone.Records.OrderBy(r => RecordOrder(r.Type)).ThenBy(r => r.Name).ThenBy(r => r.Id)
            .Select(r => new DnsRecordView(r.Name, r.Type, r.Ttl, r.Content)).ToArray();
        return new ZoneView(zone.Name, DomainNames.ToUnicode(zone.Name), zone.Serial, zone.UpdatedAt, records);
    }

    /// <summary>The zone as an RFC 1035 master file.</summary>
    public async Task<string> ExportAsync(Actor actor, string username, CancellationToken cancellationToken = default) =>
        Render(await GetAsync(actor, username, cancellationToken));

    public string Render(ZoneView zone)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"; Zone of {zone.UnicodeName}, kept by Portal node {settings.Value.NodeName}\n");
        text.Append(CultureInfo.InvariantCulture, $"$ORIGIN {zone.Name}.\n");
        text.Append(CultureInfo.InvariantCulture, $"$TTL {Dns.Ttl}\n");
        var soa = SoaParts(zone.Name);
        text.Append(CultureInfo.InvariantCulture, $"@\tIN\tSOA\t{soa.Target} {soa.Hostmaster} ({zone.Serial} {soa.Timers})\n");
        foreach (var record in zone.Records)
        {
            text.Append(CultureInfo.InvariantCulture, $"{record.Name}\t{record.Ttl}\tIN\t{record.Type}\t{record.Content}\n");
        }

        return text.ToString();
    }

    /// <summary>The zone's record sets with absolute names, the SOA first.</summary>
    public IReadOnlyList<DnsRecordSet> RecordSets(ZoneView zone)
    {
        var origin = zone.Name + ".";
        var soa = SoaParts(zone.Name);
        var sets = new List<DnsRecordSet> { new(origin, "SOA", Dns.Ttl, [$"{soa.Target} {soa.Hostmaster} {zone.Serial} {soa.Timers}"]) };
        sets.AddRange(zone.Records
            .GroupBy(r => (Name: r.Name == "@" ? origin : $"{r.Name}.{origin}", r.Type))
            .Select(g => new DnsRecordSet(g.Key.Name, g.Key.Type, g.Min(r => r.Ttl), g.Select(r => r.Content).ToArray())));
        return sets;
    }

    /// <summary>
    /// The SOA's timers, in seconds: secondaries refresh hourly, retry every 15 minutes, give the zone up after two
    /// weeks without the primary, and resolvers keep a "no such name" for 5 minutes (so a new address is found soon).
    /// </summary>
    internal const int SoaRefresh = 3600, SoaRetry = 900, SoaExpire = 1_209_600, SoaNegativeTtl = 300;

    /// <summary>The SOA's primary name server, contact (as a name) and its refresh, retry, expire and negative TTL.</summary>
    private (string Target, string Hostmaster, string Timers) SoaParts(string zoneName) =>
        (NameServers(zoneName)[0], (Dns.Hostmaster ?? $"hostmaster@{zoneName}").Replace('@', '.') + ".", $"{SoaRefresh} {SoaRetry} {SoaExpire} {SoaNegativeTtl}");

    internal List<DnsRecord> BuildRecords(string domain, string mailIPv4)
    {
        var ttl = Dns.Ttl;
        var parent = Dns.PublicIPv4;
        var spfAddresses = parent == mailIPv4 ? $"ip4:{parent}" : $"ip4:{parent} ip4:{mailIPv4}";
        var records = NameServers(domain).Select(ns => Record("@", "NS", ttl, ns)).ToList();
        records.AddRange(
        [
            Record("@", "A", ttl, parent),
            Record("www", "CNAME", ttl, domain + "."),
            Record("mail", "A", ttl, mailIPv4),
            Record("webmail", "A", ttl, mailIPv4),
            Record("@", "MX", ttl, $"10 mail.{domain}."),
            Record("@", "TXT", ttl, $"\"v=spf1 a mx {spfAddresses} ~all\""),
        ]);
        return records;
    }

    private IReadOnlyList<string> NameServers(string domain)
    {
        if (Dns.NameServers.Count > 0)
        {
            return Dns.NameServers.Select(ns => ns.TrimEnd('.') + ".").ToArray();
        }

        var host = Uri.TryCreate(settings.Value.PublicUrl, UriKind.Absolute, out var url) && url.HostNameType == UriHostNameType.Dns && url.Host.Contains('.')
            ? url.Host
            : domain;
        return [$"ns1.{host}.", $"ns2.{host}."];
    }

    private long NextSerial(long current)
    {
        var today = long.Parse(clock.GetUtcNow().ToString("yyyyMMdd", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) * 100;
        return current >= today ? current + 1 : today + 1;
    }

    private static DnsRecord Record(string name, string type, int ttl, string content) => new() { Name = name, Type = type, Ttl = ttl, Content = content };

    private static int RecordOrder(string type) => type switch { "NS" => 0, "A" => 1, "CNAME" => 2, "MX" => 3, _ => 4 };
}
