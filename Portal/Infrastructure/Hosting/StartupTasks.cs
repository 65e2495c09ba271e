namespace Portal.Infrastructure.Hosting;

/// <summary>
/// Runs before the node serves requests or jobs: applies migrations (unless turned off), makes sure the roles exist,
/// and creates the first admin from <c>Portal:Bootstrap</c>.
/// </summary>
internal sealed class StartupTasks(IServiceProvider services, IOptions<PortalSettings> settings, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        if (settings.Value.ApplyMigrationsOnStartup)
        {
            await MigrateAsync(db, logger, cancellationToken);
        }

        // Keys stored in the clear (before their encryption, or by an older Portal) are encrypted where they lie.
        var encryptor = scope.ServiceProvider.GetRequiredService<IOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>>().Value.XmlEncryptor;
        if (encryptor is not null && await KeyEncryptionCertificate.EncryptStoredKeysAsync(db, encryptor, cancellationToken) is > 0 and var encrypted)
        {
            logger.LogInformation("Encrypted {Count} Data Protection key(s) that were stored in the clear", encrypted);
        }

        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        foreach (var role in PortalRoles.All)
        {
            if (!await roles.RoleExistsAsync(role))
            {
                await roles.CreateAsync(new IdentityRole(role));
            }
        }

        await scope.ServiceProvider.GetRequiredService<NodeIdentityService>().EnsureAsync(cancellationToken);

        // An operation recorded by a process that was killed before it queued its job gets its job now.
        var orphans = await scope.ServiceProvider.GetRequiredService<OperationControl>().QueueOrphansAsync((id, ct) => JobExistsAsync(db, settings.Value.Jobs.Schema, id, ct), cancellationToken);
        if (orphans > 0)
        {
            logger.LogWarning("Queued the job of {Count} operation(s) that this node's previous process recorded and stopped before queueing", orphans);
        }

        // The mail servers' files reflect the database from the first moment on.
        try
        {
            await scope.ServiceProvider.GetRequiredService<MailStatePublisher>().RepublishAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ExternalProgramException or ExternalProgramTimeoutException)
        {
            // A mail server that is down or hangs must not keep the node from starting: the files are written,
            // /healthz shows the server's state, and a job applies them again in a minute (retried as Hangfire retries).
            logger.LogError(ex, "The mail servers did not take this node's mail state at start-up; trying again in a minute");
            scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>()
                .Schedule<MailStatePublisher>(p => p.RepublishAsync(CancellationToken.None), TimeSpan.FromMinutes(1));
        }

        if (settings.Value.Bootstrap.AdminPasswordFile is { Length: > 0 } passwordFile)
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            var admin = await EnsureAdminAsync(users, settings.Value.Bootstrap.AdminUserName, passwordFile, scope.ServiceProvider.GetRequiredService<TimeProvider>());
            if (settings.Value.Bootstrap.AdminEmail is { Length: > 0 } email && admin.Email != email)
            {
                // Where the node's alerts reach this admin (Portal:Alerts).
                Check(await users.SetEmailAsync(admin, email), "set the first admin's email address");
            }

            if (settings.Value.Bootstrap.AdminApiTokenFile is { Length: > 0 } tokenFile)
            {
                await EnsureAdminApiTokenAsync(scope.ServiceProvider.GetRequiredService<ApiTokenService>(), admin, tokenFile, cancellationToken);
            }
        }

        // Registered here, in one place, so every node keeps its children's status current.
        var recurring = scope.ServiceProvider.GetRequiredService<IRecurringJobManager>();
        Register(() => recurring.AddOrUpdate<NodeHealthJob>(NodeHealthJob.RecurringId, job => job.CheckAllAsync(CancellationToken.None), Cron.Minutely()));
        Register(() => recurring.AddOrUpdate<MailUsageService>(MailUsageService.RecurringId, u => u.RunAsync(CancellationToken.None), settings.Value.Mail.UsageSchedule));
        Register(() => recurring.AddOrUpdate<AutoSslService>(AutoSslService.RecurringId, a => a.RunDueAsync(CancellationToken.None), settings.Value.Tls.Acme.Schedule));
        // Zones whose publication failed (or that changed while the DNS server was away) are published again.
        if (scope.ServiceProvider.GetRequiredService<DnsPublisher>().Enabled)
        {
            Register(() => recurring.AddOrUpdate<DnsPublisher>(DnsPublisher.RecurringId, p => p.PublishDueAsync(CancellationToken.None), Cron.Minutely()));
        }
        else
        {
            Register(() => recurring.RemoveIfExists(DnsPublisher.RecurringId));
        }
    }

    /// <summary>
    /// Registers a recurring job. Hangfire takes a lock on the job for that, and a node killed while its scheduler held
    /// the lock leaves it until it expires: the node then starts with the definition it already stored (seen in the chaos
    /// test: "Timeout expired ... lock on 'hangfire:lock:recurring-job:node-health'" ended the start), and the next start
    /// registers it again.
    /// </summary>
    private void Register(Action register)
    {
        try
        {
            register();
        }
        catch (Hangfire.PostgreSql.PostgreSqlDistributedLockException ex)
        {
            logger.LogWarning("A recurring job was not registered now ({Error}); the one stored before runs as it was", ex.Message);
        }
    }

    /// <summary>
    /// An API token for the first admin, for automation: created into the file when it is missing, or when the node no
    /// longer knows the one in it (a fresh database). A revoked or expired token is left as it is: revocation sticks.
    /// </summary>
    private async Task EnsureAdminApiTokenAsync(ApiTokenService tokens, PortalUser admin, string tokenFile, CancellationToken ct)
    {
        if (File.Exists(tokenFile))
        {
            var check = await tokens.ValidateAsync(File.ReadAllText(tokenFile).Trim(), ApiTokenKind.User, admin.UserName, null, ct);
            if (check.Result is not (TokenCheck.Unknown or TokenCheck.Malformed))
            {
                if (!check.IsValid)
                {
                    logger.LogWarning("The bootstrap API token in its file is {Result}; it is not replaced", check.Result);
                }

                return;
            }

            File.Delete(tokenFile);
        }

        var actor = new Actor(admin.Id, admin.UserName!, null, new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.Role, PortalRoles.Admin)], "bootstrap")));
        var created = await tokens.CreateAsync(actor, ApiTokenKind.User, "bootstrap (Portal:Bootstrap:AdminApiTokenFile)", null, ct);
        WriteSecretFile(tokenFile, created.Secret);
        logger.LogInformation("Created an API token for {UserName} into the bootstrap token file", admin.UserName);
    }

    /// <summary>Whether Hangfire holds a job (queued, scheduled or running) for the operation: its id is the job's argument.</summary>
    internal static async Task<bool> JobExistsAsync(PortalDbContext db, string schema, Guid operationId, CancellationToken ct)
    {
        try
        {
            // The schema name is validated by JobsSettings (a plain lowercase identifier); the id is a parameter.
            var sql = "SELECT EXISTS (SELECT 1 FROM \"" + schema
                + "\".job WHERE arguments::text LIKE @id AND statename IN ('Enqueued', 'Scheduled', 'Processing', 'Awaiting')) AS \"Value\"";
            return await db.Database.SqlQueryRaw<bool>(sql, new Npgsql.NpgsqlParameter("id", $"%{operationId}%")).SingleAsync(ct);
        }
        catch (Npgsql.PostgresException ex) when (ex.SqlState is Npgsql.PostgresErrorCodes.UndefinedTable or Npgsql.PostgresErrorCodes.InvalidSchemaName)
        {
            return false; // the first start: Hangfire has not made its tables yet
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static async Task MigrateAsync(PortalDbContext db, ILogger logger, CancellationToken cancellationToken)
    {
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            logger.LogInformation("Applying {Count} database migrations: {Migrations}", pending.Count, pending);
            await db.Database.MigrateAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The password file is the source of truth for the first admin: a missing file gets a generated password, and an
    /// existing admin whose password differs from the file is reset to it (how an operator recovers access).
    /// </summary>
    private async Task<PortalUser> EnsureAdminAsync(UserManager<PortalUser> users, string userName, string passwordFile, TimeProvider clock)
    {
        var password = ReadOrCreatePassword(passwordFile);
        var admin = await users.FindByNameAsync(userName);
        if (admin is null)
        {
            admin = new PortalUser { UserName = userName, CreatedAt = clock.GetUtcNow(), PasswordChangedAt = clock.GetUtcNow(), LockoutEnabled = true };
            Check(await users.CreateAsync(admin, password), "create the first admin");
            logger.LogInformation("Created the first admin {UserName}; the password is in the bootstrap password file", userName);
        }
        else if (!await users.CheckPasswordAsync(admin, password))
        {
            Check(await users.RemovePasswordAsync(admin), "reset the first admin's password");
            Check(await users.AddPasswordAsync(admin, password), "reset the first admin's password");
            admin.PasswordChangedAt = clock.GetUtcNow();
            Check(await users.UpdateAsync(admin), "reset the first admin's password");
            logger.LogWarning("Reset admin {UserName}'s password to the one in the bootstrap password file", userName);
        }

        if (!await users.IsInRoleAsync(admin, PortalRoles.Admin))
        {
            Check(await users.AddToRoleAsync(admin, PortalRoles.Admin), "give the first admin the Admin role");
        }

        if (await users.IsLockedOutAsync(admin))
        {
            await users.SetLockoutEndDateAsync(admin, null);
            await users.ResetAccessFailedCountAsync(admin);
        }

        return admin;
    }

    private static string ReadOrCreatePassword(string path)
    {
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length == 0)
            {
                throw new InvalidOperationException($"The bootstrap password file \"{path}\" is empty; delete it to have a password generated, or write one into it.");
            }

            return existing;
        }

        var password = UserAdminService.GeneratePassword();
        WriteSecretFile(path, password);
        return password;
    }

    /// <summary>Writes a secret to a new file only its owner can read.</summary>
    private static void WriteSecretFile(string path, string secret)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options);
        writer.WriteLine(secret);
    }

    private static void Check(IdentityResult result, string what)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Could not {what}: {string.Join(" ", result.Errors.Select(e => e.Description))}");
        }
    }
}
