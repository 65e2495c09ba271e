using System.Net;
using System.Text.Json.Serialization;

namespace Portal.Features.Dns;

/// <summary>
/// Publishes Portal's zones to a PowerDNS authoritative server over its HTTP API: a zone is created whole the first
/// time, then its record sets are replaced and the ones Portal no longer has are deleted, so the server answers what
/// Portal keeps and the old node's answers stop. Off (every call returns at once) while Portal:Dns:PowerDns:ApiUrl is
/// empty. A failure throws: the change or move step that asked fails and is retried, and the minute's
/// <see cref="PublishDueAsync"/> catches up with any zone whose serial is ahead of what the server confirmed.
/// </summary>
public sealed class DnsPublisher(IDbContextFactory<PortalDbContext> dbFactory, IOptions<PortalSettings> settings, IHttpClientFactory httpClients, DnsZoneService zones, ILogger<DnsPublisher> logger)
{
    public const string HttpClientName = "powerdns";
    public const string RecurringId = "dns-publish";

    private PowerDnsSettings PowerDns => settings.Value.Dns.PowerDns;

    public bool Enabled => !string.IsNullOrEmpty(PowerDns.ApiUrl);

    /// <summary>Publishes the zone of an account, whatever was published before.</summary>
    public Task PublishAsync(long accountId, CancellationToken ct) => PublishWhereAsync(z => z.AccountId == accountId, ct);

    /// <summary>Publishes one zone (an account's, or the nodes' zone) by its id.</summary>
    public Task PublishZoneAsync(long zoneId, CancellationToken ct) => PublishWhereAsync(z => z.Id == zoneId, ct);

    private async Task PublishWhereAsync(System.Linq.Expressions.Expression<Func<DnsZone, bool>> which, CancellationToken ct)
    {
        if (!Enabled)
        {
            return;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var zone = await db.DnsZones.AsNoTracking().Include(z => z.Records).SingleOrDefaultAsync(which, ct);
        if (zone is not null)
        {
            await PublishAsync(db, zone, ct);
        }
    }

    /// <summary>
    /// Removes a zone Portal no longer keeps from the server, now if it answers, else later: the removal is recorded
    /// first and <see cref="PublishDueAsync"/> tries it again every minute until the server confirms it.
    /// </summary>
    /// <returns>Whether the server confirmed it now.</returns>
    public async Task<bool> RemoveZoneAsync(string zoneName, CancellationToken ct)
    {
        if (!Enabled)
        {
            return true;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.DnsZoneRemovals.AnyAsync(r => r.Name == zoneName, ct))
        {
            db.DnsZoneRemovals.Add(new DnsZoneRemoval { Name = zoneName, CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync(ct);
        }

        return await TryRemoveAsync(db, zoneName, ct);
    }

    private async Task<bool> TryRemoveAsync(PortalDbContext db, string zoneName, CancellationToken ct)
    {
        try
        {
            await DeleteZoneAsync(zoneName, ct);
            await db.DnsZoneRemovals.Where(r => r.Name == zoneName).ExecuteDeleteAsync(ct);
            return true;
        }
        catch (InvalidOperationException ex) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("The zone {Zone} is still on PowerDNS; removed when it answers: {Reason}", zoneName, ex.Message);
            await db.DnsZoneRemovals.Where(r => r.Name == zoneName).ExecuteUpdateAsync(u => u.SetProperty(r => r.LastError, ex.Message.Length > 2000 ? ex.Message[..2000] : ex.Message), ct);
            return false;
        }
    }

    /// <summary>Removes a zone from the server (its account is gone); a zone the server does not have is already gone.</summary>
    public async Task DeleteZoneAsync(string zoneName, CancellationToken ct)
    {
        if (!Enabled)
        {
            return;
        }

        using var response = await SendAsync(HttpMethod.Delete, $"servers/{PowerDns.ServerId}/zones/{Uri.EscapeDataString(zoneName + ".")}", null, ct);
        if (response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity))
        {
            await EnsureAsync(response, $"delete zone {zoneName}", ct);
        }

        logger.LogInformation("Removed zone {Zone} from PowerDNS", zoneName);
    }

    /// <summary>
    /// Publishes every zone changed since the server last confirmed it (a minute's job, and after a failure), the nodes'
    /// zone first brought up to date with the nodes.
    /// </summary>
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(60)]
    public async Task<int> PublishDueAsync(CancellationToken ct)
    {
        if (!Enabled)
        {
            return 0;
        }

        try
        {
            await zones.SyncNodesZoneAsync(ct);
        }
        catch (InvalidOperationException ex)
        {
            logger.LogWarning("The nodes' zone is not kept: {Reason}", ex.Message);
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var due = await db.DnsZones.AsNoTracking().Include(z => z.Records).Where(z => z.PublishedSerial == null || z.PublishedSerial < z.Serial).OrderBy(z => z.Id).Take(500).ToListAsync(ct);
        foreach (var zone in due)
        {
            await PublishAsync(db, zone, ct);
        }

        // Zones Portal no longer keeps (a zone an account took again since is kept: it is published above).
        var gone = await db.DnsZoneRemovals.AsNoTracking().OrderBy(r => r.Id).Select(r => r.Name).Take(500).ToListAsync(ct);
        foreach (var name in gone)
        {
            if (await db.DnsZones.AnyAsync(z => z.Name == name, ct))
            {
                await db.DnsZoneRemovals.Where(r => r.Name == name).ExecuteDeleteAsync(ct);
            }
            else
            {
                await TryRemoveAsync(db, name, ct);
            }
        }

        return due.Count;
    }

    /// <summary>Whether the server answers its API with this node's key (for the health page).</summary>
    public async Task<(bool Up, string Detail)> CheckAsync(CancellationToken ct)
    {
        try
        {
            using var response = await SendAsync(HttpMethod.Get, $"servers/{PowerDns.ServerId}", null, ct);
            return response.IsSuccessStatusCode
                ? (true, "PowerDNS answers its API.")
                : (false, $"PowerDNS answered {(int)response.StatusCode}{(response.StatusCode == HttpStatusCode.Unauthorized ? " (check the API key file)" : "")}.");
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TaskCanceledException or IOException && !ct.IsCancellationRequested)
        {
            // The address and the error go to the log, not to the health answer.
            logger.LogWarning(ex, "PowerDNS at {Api} cannot be reached", ApiBase);
            return (false, "PowerDNS cannot be reached; see the node's log.");
        }
    }

    private async Task PublishAsync(PortalDbContext db, DnsZone zone, CancellationToken ct)
    {
        var name = zone.Name + ".";
        var wanted = zones.RecordSets(DnsZoneService.ViewOf(zone)).Select(set => new RrSet(set.Name, set.Type, set.Ttl, "REPLACE", set.Contents.Select(c => new RrRecord(c, false)).ToArray())).ToList();
        var path = $"servers/{PowerDns.ServerId}/zones/{Uri.EscapeDataString(name)}";

        using (var existing = await SendAsync(HttpMethod.Get, path, null, ct))
        {
            if (existing.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity)
            {
                using var created = await SendAsync(HttpMethod.Post, $"servers/{PowerDns.ServerId}/zones", new NewZone(name, "Native", [], wanted.Select(r => r with { ChangeType = null }).ToArray()), ct);
                await EnsureAsync(created, $"create zone {zone.Name}", ct);
            }
            else
            {
                await EnsureAsync(existing, $"read zone {zone.Name}", ct);
                var current = (await existing.Content.ReadFromJsonAsync<ZoneDocument>(ct))?.RrSets ?? [];
                var gone = current.Where(c => !wanted.Any(w => w.Name == c.Name && w.Type == c.Type))
                    .Select(c => new RrSet(c.Name, c.Type, null, "DELETE", null));
                using var patched = await SendAsync(HttpMethod.Patch, path, new { rrsets = wanted.Concat(gone).ToArray() }, ct);
                await EnsureAsync(patched, $"update zone {zone.Name}", ct);
            }
        }

        await db.DnsZones.Where(z => z.Id == zone.Id).ExecuteUpdateAsync(u => u.SetProperty(z => z.PublishedSerial, zone.Serial), ct);
        logger.LogInformation("Published zone {Zone} (serial {Serial}) to PowerDNS", zone.Name, zone.Serial);
    }

    private string ApiBase => PowerDns.ApiUrl!.TrimEnd('/') + "/api/v1/";

    private string? _apiKey;

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        var fresh = _apiKey is null;
        var response = await SendOnceAsync(method, path, body, ct);
        if (response.StatusCode == HttpStatusCode.Unauthorized && !fresh)
        {
            // The key was changed (rotated) since it was read: read it again, once.
            response.Dispose();
            _apiKey = null;
            response = await SendOnceAsync(method, path, body, ct);
        }

        return response;
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        _apiKey ??= (await File.ReadAllTextAsync(PowerDns.ApiKeyFile!, ct)).Trim();
        using var request = new HttpRequestMessage(method, ApiBase + path);
        request.Headers.Add("X-API-Key", _apiKey);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        try
        {
            return await httpClients.CreateClient(HttpClientName).SendAsync(request, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw new InvalidOperationException($"PowerDNS at {ApiBase} cannot be reached ({ex.Message}). Start it, or correct Portal:Dns:PowerDns:ApiUrl; the zone is published when this is run again.", ex);
        }
    }

    private async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var detail = (await response.Content.ReadAsStringAsync(ct)).Trim();
            throw new InvalidOperationException($"PowerDNS at {ApiBase} could not {what}: {(int)response.StatusCode} {detail[..Math.Min(detail.Length, 300)]}");
        }
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed record RrRecord(string Content, bool Disabled);

    private sealed record RrSet(string Name, string Type, int? Ttl, [property: JsonPropertyName("changetype")] string? ChangeType, RrRecord[]? Records);

    private sealed record NewZone(string Name, string Kind, string[] Nameservers, [property: JsonPropertyName("rrsets")] RrSet[] RrSets);

    private sealed record ZoneDocument([property: JsonPropertyName("rrsets")] RrSet[]? RrSets);
}
