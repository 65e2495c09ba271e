using Npgsql;

namespace Portal.Bench;

/// <summary>A throw-away database on the PostgreSQL the tests use (PORTAL_TEST_PG, set by `./portal bench`).</summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly string _admin;

    private BenchDatabase(string admin, string name)
    {
        _admin = admin;
        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    public string ConnectionString { get; }

    public static async Task<BenchDatabase> CreateAsync()
    {
        var admin = Environment.GetEnvironmentVariable("PORTAL_TEST_PG")
            ?? throw new InvalidOperationException("PORTAL_TEST_PG is not set; run benchmarks with `./portal bench`.");
        admin = new NpgsqlConnectionStringBuilder(admin) { Database = "postgres" }.ConnectionString;
        var name = $"portal_bench_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return new BenchDatabase(admin, name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        var name = new NpgsqlConnectionStringBuilder(ConnectionString).Database;
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static string Summary(IReadOnlyList<double> ms) =>
        $"p50 {Percentile(ms, 0.5),8:0.0} ms   p95 {Percentile(ms, 0.95),8:0.0} ms   max {ms.Max(),8:0.0} ms";
}
