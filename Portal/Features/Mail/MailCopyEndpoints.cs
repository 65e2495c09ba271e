using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Portal.Infrastructure.Configuration;
using Portal.Jobs.Mail;
using Portal.Jobs.Nodes;

namespace Portal.Features.Mail;

/// <summary>The child's side of a mail copy: its manifest, streamed batches, renames and deletions, and a clean-up.</summary>
public static class MailCopyEndpoints
{
    public static void MapMailCopyNodeApi(this IEndpointRouteBuilder api)
    {
        var mail = api.MapGroup("/accounts/{username}/mail");
        mail.MapGet("/manifest", async (string username, bool? hashes, TwinResolver twins, MailService service, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var localParts = await service.LocalPartsAsync(twin, ct);
            return MailReceiver.Manifest(settings.Value.MailRoot, twin.Domain, localParts, hashes == true);
        });

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

        mail.MapPost("/changes", async (string username, MailChanges changes, TwinResolver twins, MailService service, MailReceiver receiver, CancellationToken ct) =>
        {
            var twin = await twins.FindAsync(username, ct);
            var localParts = (await service.LocalPartsAsync(twin, ct)).ToHashSet(StringComparer.Ordinal);
            return receiver.Apply(changes, twin.Domain, localParts);
        });

        mail.MapDelete("/data", async (string username, TwinResolver twins, MailService service, CancellationToken ct) =>
        {
            await service.DeleteMailDataAsync(await twins.FindAsync(username, ct), ct);
            return new NodeApiOk();
        });
    }
}
