using System.Reflection;
using Npgsql;

namespace Portal.Tests.Support;

/// <summary>Where the tests find PostgreSQL, the built Portal and a browser; `./portal test` sets all of it.</summary>
public static class TestEnvironment
{
    private static readonly Lazy<string> AdminConnection = new(ReadAdminConnection);

    /// <summary>A connection string (no database) of a role that may create databases.</summary>
    public static string PostgresAdmin => AdminConnection.Value;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The Portal build the process-based nodes run (same configuration as the tests).</summary>
    public static string PortalDll { get; } = Path.Combine(
        RepositoryRoot, "Portal", "bin", BuildConfiguration, "net10.0", "Portal.dll");

    public static string BuildConfiguration =>
        typeof(TestEnvironment).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string Chromium => Environment.GetEnvironmentVariable("PORTAL_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>A folder for this test run's files (mail roots, node logs), under TestResults.</summary>
    public static string RunFolder { get; } = CreateRunFolder();

    private static string ReadAdminConnection()
    {
        var value = Environment.GetEnvironmentVariable("PORTAL_TEST_PG");
        if (string.IsNullOrWhiteSpace(value))
        {
            // A developer running `dotnet test` by hand after `./portal test` (or `./portal pg start test`).
            var passwordFile = File.Exists("/var/lib/portal-dev/postgresql/test.password")
                ? "/var/lib/portal-dev/postgresql/test.password"
                : Path.Combine(RepositoryRoot, ".portal", "postgresql", "test.password");
            if (!File.Exists(passwordFile))
            {
                throw new InvalidOperationException(
                    "PostgreSQL for the tests is not configured: run the tests with `./portal test`, or set PORTAL_TEST_PG to a " +
                    "connection string of a role that may create databases (or start the local one with `./portal pg start test`).");
            }

            value = $"Host=127.0.0.1;Port=55433;Username=portal;Password={File.ReadAllText(passwordFile).Trim()}";
        }

        var builder = new NpgsqlConnectionStringBuilder(value) { Database = "postgres" };
        return builder.ConnectionString;
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Portal.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException($"Portal.sln was not found above {AppContext.BaseDirectory}.");
    }

    private static string CreateRunFolder()
    {
        var path = Path.Combine(RepositoryRoot, "TestResults", "runs", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
        Directory.CreateDirectory(path);
        return path;
    }
}
