using System.Diagnostics;

namespace Portal.Tests.Integration;

/// <summary>The built Portal, started with bad settings, stops with messages that say what to set.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task MissingConnectionString_StopsWithExitCode2_AndSaysWhatToSet()
    {
        var (exitCode, output) = await RunPortalAsync([], new Dictionary<string, string>());

        Assert.Equal(2, exitCode);
        Assert.Contains("ConnectionStrings:Portal is not set", output);
        Assert.Contains("ConnectionStrings__Portal", output);
    }

    [Fact]
    public async Task BadSettings_AreAllReportedAtOnce_WithoutEchoingTheConnectionString()
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__Portal"] = "Host=127.0.0.1;Port=1;Database=x;Username=u;Password=SuperSecret123",
            ["Portal__MailRoot"] = "relative/mail",
            ["Portal__NodeName"] = "bad name!",
            ["Portal__PublicUrl"] = "http://panel.example.com",
            ["Portal__Jobs__WorkerCount"] = "0",
        };

        var (exitCode, output) = await RunPortalAsync([], settings);

        Assert.Equal(2, exitCode);
        Assert.Contains("Portal:MailRoot must be an absolute path", output);
        Assert.Contains("Portal:NodeName may hold letters", output);
        Assert.Contains("Portal:PublicUrl must be an absolute https:// URL", output);
        Assert.Contains("Portal:Jobs:WorkerCount must be between 1 and 64", output);
        Assert.DoesNotContain("SuperSecret123", output);
    }

    [Fact]
    public async Task Migrate_OnAnEmptyDatabase_BringsItUpToDate()
    {
        var connectionString = await TestDatabases.CreateEmptyAsync();
        try
        {
            var (exitCode, output) = await RunPortalAsync(["migrate"], new Dictionary<string, string>
            {
                ["ConnectionStrings__Portal"] = connectionString,
                ["Portal__MailRoot"] = "/tmp/portal-migrate-test",
            });

            Assert.True(exitCode == 0, output);
            await using var db = TestDatabases.OpenContext(connectionString);
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
            Assert.Equal(0, await db.Operations.CountAsync());
        }
        finally
        {
            await TestDatabases.DropAsync(connectionString);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunPortalAsync(string[] args, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", [TestEnvironment.PortalDll, .. args])
        {
            WorkingDirectory = Path.GetDirectoryName(TestEnvironment.PortalDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment.Remove("ConnectionStrings__Portal");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("Portal did not exit within 60 s: " + await stdout);
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
