using Npgsql;

namespace Portal.Features.SelfCheck;

/// <summary>The self-check's view of this node: its mail root and a database round trip.</summary>
internal sealed class NodeProbe(NpgsqlDataSource dataSource, IOptions<PortalSettings> settings) : INodeProbe
{
    public string MailRoot => settings.Value.MailRoot;

    public async Task PingDatabaseAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken);
    }
}
