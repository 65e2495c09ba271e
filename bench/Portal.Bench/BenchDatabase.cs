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

    /// <summary>The middle value (the mean of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The spread of the values: "min-max".</summary>
    public static string Spread(IEnumerable<double> values)
    {
        var list = values.ToList();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{list.Min():0.00}-{list.Max():0.00}");
    }
}

/// <summary>What the benchmarks share besides statistics: their options, and shell commands they time.</summary>
internal static class BenchTools
{
    /// <summary>The value of an option <c>--name=N</c>, or null when it is not given.</summary>
    public static int? Option(string[] args, string prefix) =>
        args.FirstOrDefault(a => a.StartsWith(prefix, StringComparison.Ordinal)) is { } value ? int.Parse(value[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>Runs a bash command; one that fails stops the benchmark, naming it.</summary>
    public static async Task ShellAsync(string script)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("bash", ["-c", script]))!;
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{script[..Math.Min(200, script.Length)]}' exited with {process.ExitCode}.");
        }
    }
}
