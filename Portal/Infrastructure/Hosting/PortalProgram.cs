namespace Portal.Infrastructure.Hosting;

/// <summary>
/// The node's entry point. <c>Portal</c> runs the node; <c>Portal migrate</c> applies database migrations and exits.
/// A configuration problem ends the process with exit code 2 and a message that says what to set.
/// </summary>
public static class PortalProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        var migrateOnly = args.Length > 0 && args[0] == "migrate";
        var hostArgs = migrateOnly ? args[1..] : args;

        WebApplication app;
        try
        {
            var builder = WebApplication.CreateBuilder(hostArgs);
            // Serves MudBlazor's and Blazor's files from the build output in every environment, not only Development.
            builder.WebHost.UseStaticWebAssets();
            // Under systemd (Type=notify): tells it when the node has started (migrations done, listening) and when it stops.
            builder.Host.UseSystemd();
            builder.AddPortal();
            app = builder.Build();
            app.UsePortal();
        }
        catch (PortalConfigurationException ex)
        {
            return ConfigurationError(ex.Message);
        }
        catch (OptionsValidationException ex)
        {
            return ConfigurationError(string.Join(Environment.NewLine, ex.Failures));
        }

        if (migrateOnly)
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
            await StartupTasks.MigrateAsync(db, app.Logger, CancellationToken.None);
            Console.WriteLine("The database is up to date.");
            return 0;
        }

        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            return ConfigurationError(string.Join(Environment.NewLine, ex.Failures));
        }
    }

    private static int ConfigurationError(string message)
    {
        Console.Error.WriteLine("Portal cannot start: the configuration needs attention.");
        foreach (var line in message.Split(Environment.NewLine))
        {
            Console.Error.WriteLine("  - " + line);
        }

        Console.Error.WriteLine("See appsettings.sample.json for every setting and what it means.");
        return 2;
    }
}
