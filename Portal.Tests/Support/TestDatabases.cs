using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Portal.Infrastructure.Data;

namespace Portal.Tests.Support;

/// <summary>
/// Real PostgreSQL databases for tests. The first use builds a template (all migrations applied, Hangfire's schema
/// installed) once per schema version; each test database is a copy of it, which takes milliseconds.
/// </summary>
public static class TestDatabases
{
    private static readonly SemaphoreSlim TemplateGate = new(1, 1);
    private static string? _template;

    public const string HangfireSchema = "hangfire";

    /// <summary>Creates a fresh, migrated database and returns its connection string.</summary>
    public static async Task<string> CreateAsync(string purpose)
    {
        var template = await EnsureTemplateAsync();
        var name = $"portal_t_{Guid.NewGuid():N}";
        await using var admin = new NpgsqlConnection(TestEnvironment.PostgresAdmin);
        await admin.OpenAsync();
        await Execute(admin, $"CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        // Says which test made a database that a crashed run left behind.
        await Execute(admin, $"COMMENT ON DATABASE \"{name}\" IS '{purpose.Replace("'", "''")}'");
        return ConnectionStringFor(name);
    }

    /// <summary>An empty database (no migrations), for tests of the migrate command.</summary>
    public static async Task<string> CreateEmptyAsync()
    {
        var name = $"portal_t_{Guid.NewGuid():N}";
        await using var admin = new NpgsqlConnection(TestEnvironment.PostgresAdmin);
        await admin.OpenAsync();
        await Execute(admin, $"CREATE DATABASE \"{name}\"");
        return ConnectionStringFor(name);
    }

    public static async Task DropAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(TestEnvironment.PostgresAdmin);
        await admin.OpenAsync();
        await Execute(admin, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    }

    /// <summary>
    /// The database of <paramref name="connectionString"/> goes away for a while, as a PostgreSQL restart looks to its
    /// clients: every open connection is cut and new ones are refused until <paramref name="length"/> has passed. Only
    /// this database: the other tests' databases on the same server carry on.
    /// </summary>
    public static async Task OutageAsync(string connectionString, TimeSpan length)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var admin = new NpgsqlConnection(TestEnvironment.PostgresAdmin);
        await admin.OpenAsync();
        await Execute(admin, $"ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false");
        try
        {
            await Execute(admin, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()");
            await Task.Delay(length);
        }
        finally
        {
            await Execute(admin, $"ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true");
            // The nodes find their cut connections themselves (that is what an outage tests); this test process's own
            // idle ones to that database are dead too, and the next test would stumble on one.
            NpgsqlConnection.ClearAllPools();
        }
    }

    public static string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(TestEnvironment.PostgresAdmin) { Database = database }.ConnectionString;

    public static PortalDbContext OpenContext(string connectionString) =>
        new(new DbContextOptionsBuilder<PortalDbContext>()
            .UseNpgsql(connectionString, o => o.MigrationsHistoryTable("__ef_migrations_history"))
            .Options);

    private static async Task<string> EnsureTemplateAsync()
    {
        if (_template is not null)
        {
            return _template;
        }

        await TemplateGate.WaitAsync();
        try
        {
            if (_template is not null)
            {
                return _template;
            }

            await using var probe = OpenContext(ConnectionStringFor("portal_template_probe"));
            var migrations = string.Join(",", probe.Database.GetMigrations());
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(migrations + "|hangfire-" + typeof(Hangfire.PostgreSql.PostgreSqlStorage).Assembly.GetName().Version)))[..16];
            var template = $"portal_template_{hash}";

            await using var admin = new NpgsqlConnection(TestEnvironment.PostgresAdmin);
            await admin.OpenAsync();
            // Test processes run side by side (unit/integration and E2E); one builds the template, the others wait.
            await Execute(admin, "SELECT pg_advisory_lock(727274)");
            try
            {
                await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @n", admin);
                exists.Parameters.AddWithValue("n", template);
                if (await exists.ExecuteScalarAsync() is null)
                {
                    var building = template + "_build";
                    await Execute(admin, $"DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)");
                    await Execute(admin, $"CREATE DATABASE \"{building}\"");
                    var cs = ConnectionStringFor(building);
                    await using (var db = OpenContext(cs))
                    {
                        await db.Database.MigrateAsync();
                    }

                    await using (var connection = new NpgsqlConnection(cs))
                    {
                        await connection.OpenAsync();
                        Hangfire.PostgreSql.PostgreSqlObjectsInstaller.Install(connection, HangfireSchema);
                    }

                    NpgsqlConnection.ClearAllPools();
                    await Execute(admin, $"ALTER DATABASE \"{building}\" RENAME TO \"{template}\"");
                }
            }
            finally
            {
                await Execute(admin, "SELECT pg_advisory_unlock(727274)");
            }

            _template = template;
            return template;
        }
        finally
        {
            TemplateGate.Release();
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>Contexts on one test database, for services built by hand in a test.</summary>
public sealed class TestDbContextFactory(string connectionString) : IDbContextFactory<PortalDbContext>
{
    public PortalDbContext CreateDbContext() => TestDatabases.OpenContext(connectionString);
}
