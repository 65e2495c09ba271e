using Microsoft.AspNetCore.Http.Features;

namespace Portal.Features.Mail;

/// <summary>The child's side of a mail copy: its manifest, streamed batches, renames and deletions, and a clean-up.</summary>
public static class MailCopyEndpoints
{
    public static void MapMailCopyNodeApi(this IEndpointRouteBuilder api)
    {
        var mail = api.MapGroup("/accounts/{username}/mail");
        mail.MapGet("/manifest", async (string username, bool? hashes, bool? sizes, TwinResolver twins, MailService service, IOptions<PortalSettings> settings, CancellationToken ct) =>
            await ManifestAsync(await twins.FindAsync(username, ct), DetailOf(hashes, sizes), service, settings.Value, ct));

        mail.MapPost("/batches", async (string username, HttpContext http, TwinResolver twins, MailService service, MailReceiver receiver, CancellationToken ct) =>
        {
            // A batch is as large as the mail it carries (64 MiB by default): no request size limit here.
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = null;
            }

            var twin = await twins.FindAsync(username, ct);
            var localParts = (await service.LocalPartsAsync(twin, ct)).ToHashSet(StringComparer.Ordinal);
            return await receiver.ReceiveAsync(http.Request.Body, twin.Domain, localParts, ct);
        });

        // Dovecot's state files (UIDs, keywords, subscriptions): listed for a move to carry, and taken before its switch.
        mail.MapGet("/state", async (string username, TwinResolver twins, MailService service, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            return MailReceiver.StateManifest(settings.Value.MailRoot, twin.Domain, await service.LocalPartsAsync(twin, ct));
        });

        mail.MapPost("/state", async (string username, HttpContext http, TwinResolver twins, MailService service, MailReceiver receiver, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var localParts = (await service.LocalPartsAsync(twin, ct)).ToHashSet(StringComparer.Ordinal);
            return await receiver.ReceiveAsync(http.Request.Body, twin.Domain, localParts, ct, state: true);
        });

        // The mailboxes' duplicate records (Message-IDs Sieve saw): read from the old node and added to the new one's
        // around a move's switch, so a message the mailbox already received is kept once on the new node too.
        mail.MapGet("/duplicates", async (string username, TwinResolver twins, MailService service, MailServerAdapter mailServers, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            return mailServers.ReadDuplicates(twin.Domain, await service.LocalPartsAsync(twin, ct));
        });

        mail.MapPost("/duplicates", async (string username, MailDuplicates duplicates, TwinResolver twins, MailService service, MailServerAdapter mailServers, TimeProvider clock, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var localParts = (await service.LocalPartsAsync(twin, ct)).ToHashSet(StringComparer.Ordinal);
            return await mailServers.MergeDuplicatesAsync(twin.Domain, localParts, duplicates, clock.GetUtcNow(), ct);
        });

        mail.MapPost("/duplicates/delivered", async (string username, MailDelivered delivered, TwinResolver twins, MailService service, MailServerAdapter mailServers, IOptions<PortalSettings> settings, TimeProvider clock, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var localParts = (await service.LocalPartsAsync(twin, ct)).ToHashSet(StringComparer.Ordinal);
            return await mailServers.MarkDeliveredAsync(settings.Value.MailRoot, twin.Domain, localParts, delivered, clock.GetUtcNow(), ct);
        });

        mail.MapPost("/changes", async (string username, MailChanges changes, TwinResolver twins, MailService service, MailReceiver receiver, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var localParts = (await service.LocalPartsAsync(twin, ct)).ToHashSet(StringComparer.Ordinal);
            return receiver.Apply(changes, twin.Domain, localParts);
        });

        MapDedistribution(mail);

        mail.MapDelete("/data", async (string username, TwinResolver twins, MailService service, CancellationToken ct) =>
        {
            await service.DeleteMailDataAsync(await twins.FindAsync(username, ct), ct);
            return new NodeApiOk();
        });
    }
    /// <summary>
    /// The child's side of taking mail back (dedistribution) or on to another child: an archive built by a job of its
    /// own (status, manifest, content with range requests), single files sent on request, the twin's mail sent on
    /// elsewhere, and its sessions ended.
    /// </summary>
    private static void MapDedistribution(RouteGroupBuilder mail)
    {
        mail.MapPost("/archives", async (string username, MailArchiveRequestBody body, HttpContext http, TwinResolver twins, OperationLauncher launcher, IBackgroundJobClient jobs, IDbContextFactory<PortalDbContext> dbFactory, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var requestKey = body.RequestId.ToString("N");
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
            {
                // The same request again (a resumed dedistribution): the archive it already has, made or in the making.
                var existing = await db.Operations.AsNoTracking()
                    .Where(o => o.Kind == MailArchiveJob.Kind && o.Target == twin.Username && o.Parameters == requestKey
                        && o.State != OperationState.Failed && o.State != OperationState.Cancelled)
                    .OrderByDescending(o => o.RequestedAt).Select(o => (Guid?)o.Id).FirstOrDefaultAsync(ct);
                if (existing is { } id)
                {
                    return new MailArchiveStarted(id);
                }
            }

            var request = new OperationRequest(MailArchiveJob.Kind, $"Archive the mail of {twin.Username} for the parent", twin.Username, MailArchiveJob.Steps);
            var started = await launcher.StartAsync(TwinResolver.Actor(http), request, requestKey,
                operationId => jobs.Enqueue<MailArchiveJob>(job => job.RunAsync(operationId, CancellationToken.None)), ct);
            return new MailArchiveStarted(started);
        });

        mail.MapGet("/archives/{id:guid}", async (string username, Guid id, TwinResolver twins, IDbContextFactory<PortalDbContext> dbFactory, CancellationToken ct) =>
        {
            var operation = await FindArchiveAsync(username, id, twins, dbFactory, ct);
            return new MailArchiveStatus(id, operation.State.ToString(), operation.Percent, operation.ItemsDone, operation.ItemsTotal,
                operation.BytesDone, operation.BytesTotal, operation.Error);
        });

        mail.MapGet("/archives/{id:guid}/manifest", async (string username, Guid id, TwinResolver twins, IDbContextFactory<PortalDbContext> dbFactory, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            await FindArchiveAsync(username, id, twins, dbFactory, ct);
            var path = MailArchive.ManifestPath(settings.Value.MailRoot, id);
            return File.Exists(path)
                ? Results.File(path, "application/json")
                : throw new PortalNotFoundException($"The archive {id:N} of {username} is not ready (or was removed).");
        });

        mail.MapGet("/archives/{id:guid}/content", async (string username, Guid id, TwinResolver twins, IDbContextFactory<PortalDbContext> dbFactory, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            await FindArchiveAsync(username, id, twins, dbFactory, ct);
            var path = MailArchive.ArchivePath(settings.Value.MailRoot, id);
            return File.Exists(path)
                ? Results.File(path, "application/zstd", enableRangeProcessing: true)
                : throw new PortalNotFoundException($"The archive {id:N} of {username} is not ready (or was removed).");
        });

        mail.MapDelete("/archives/{id:guid}", async (string username, Guid id, TwinResolver twins, IDbContextFactory<PortalDbContext> dbFactory, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            await FindArchiveAsync(username, id, twins, dbFactory, ct);
            MailArchive.Delete(settings.Value.MailRoot, id);
            // Gone: a later request for an archive makes a new one.
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await db.Operations.Where(o => o.Id == id && o.State == OperationState.Succeeded)
                .ExecuteUpdateAsync(u => u.SetProperty(o => o.State, OperationState.Cancelled), ct);
            return new NodeApiOk();
        });

        mail.MapPost("/export", async (string username, MailExportRequest request, HttpContext http, TwinResolver twins, MailService service, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            await ExportAsync(await twins.FindAsync(username, ct), request, http, service, settings.Value, ct);
            return Results.Empty;
        });

        mail.MapPut("/redirect", async (string username, MailRedirect redirect, HttpContext http, AccountTwins accounts, CancellationToken ct) =>
        {
            await accounts.SetTwinMailRedirectAsync(TwinResolver.Actor(http), username, redirect.Address, ct);
            return new NodeApiOk();
        });

        mail.MapPut("/kept-until", async (string username, TwinKeptUntil kept, HttpContext http, AccountTwins accounts, CancellationToken ct) =>
        {
            await accounts.SetTwinKeptUntilAsync(TwinResolver.Actor(http), username, kept.Until, ct);
            return new NodeApiOk();
        });

        mail.MapPost("/sessions/end", async (string username, TwinResolver twins, MailService service, MailServerAdapter mailServers, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var ended = 0;
            foreach (var local in await service.LocalPartsAsync(twin, ct))
            {
                if ((await mailServers.EndSessionsAsync($"{local}@{twin.Domain}", ct)).Ran)
                {
                    ended++;
                }
            }

            return new SessionsEnded(ended);
        });
    }

    private static async Task<Operation> FindArchiveAsync(string username, Guid id, TwinResolver twins, IDbContextFactory<PortalDbContext> dbFactory, CancellationToken ct)
    {
        var twin = await twins.FindAsync(username, ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Operations.AsNoTracking().SingleOrDefaultAsync(o => o.Id == id && o.Kind == MailArchiveJob.Kind && o.Target == twin.Username, ct)
            ?? throw new PortalNotFoundException($"There is no archive {id:N} of {username} here.");
    }

    /// <summary>A manifest request's detail: <c>?hashes=true</c>, <c>?sizes=false</c> (paths only), or sizes by default.</summary>
    internal static ManifestDetail DetailOf(bool? hashes, bool? sizes) =>
        hashes == true ? ManifestDetail.Hashes : sizes == false ? ManifestDetail.Paths : ManifestDetail.Sizes;

    /// <summary>What this node holds of an account's mail, per mailbox, in as much detail as asked.</summary>
    internal static async Task<MailManifest> ManifestAsync(Account account, ManifestDetail detail, MailService service, PortalSettings settings, CancellationToken ct) =>
        MailReceiver.Manifest(settings.MailRoot, account.Domain, await service.LocalPartsAsync(account, ct), detail);

    /// <summary>Streams the asked-for message files of an account as one batch; a path outside its mailboxes is refused.</summary>
    internal static async Task ExportAsync(Account account, MailExportRequest request, HttpContext http, MailService service, PortalSettings settings, CancellationToken ct)
    {
        var localParts = (await service.LocalPartsAsync(account, ct)).ToHashSet(StringComparer.Ordinal);
        var refused = request.Files.FirstOrDefault(f => !localParts.Contains(f.LocalPart) || !(Maildir.IsSafeRelativePath(f.Path) || MaildirState.IsStatePath(f.Path)));
        if (refused is not null)
        {
            throw new PortalValidationException($"{refused.LocalPart}/{refused.Path} is not a message of {account.Username}'s mailboxes.", code: "mail.path_invalid");
        }

        var content = new MailBatchContent(settings.MailRoot, account.Domain,
            request.Files.Select(f => new PlannedCopy(f.LocalPart, new MailFile(f.Path, f.Size))).ToList(), digestKind: MailBatchFormat.Parse(request.Digest));
        http.Response.ContentType = MailBatchFormat.MediaType;
        await content.CopyToAsync(http.Response.Body, ct);
    }
}
