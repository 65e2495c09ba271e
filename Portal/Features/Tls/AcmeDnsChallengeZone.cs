namespace Portal.Features.Tls;

/// <summary>
/// DNS-01 records in the accounts' zones on this node, published at once through PowerDNS: the zone keeps them, so no
/// other publication of the zone removes them during a validation (docs/adr/0003-acme-client.md).
/// </summary>
public sealed class AcmeDnsChallengeZone(DnsZoneService zones, DnsPublisher publisher) : IDnsChallengeZone
{
    public async Task PublishAsync(string name, string value, CancellationToken ct)
    {
        if (!publisher.Enabled)
        {
            throw new InvalidOperationException("This node publishes no DNS (Portal:Dns:PowerDns:ApiUrl is empty), so AutoSSL cannot prove its names through DNS-01.");
        }

        await publisher.PublishZoneAsync(await zones.SetAcmeChallengeAsync(name, value, present: true, ct), ct);
    }

    public async Task RemoveAsync(string name, string value, CancellationToken ct) =>
        await publisher.PublishZoneAsync(await zones.SetAcmeChallengeAsync(name, value, present: false, ct), ct);
}
