namespace Portal.Features.Mail;

public static class MailApi
{
    /// <summary>The public API's mail functions of an account, for its owner, its reseller and admins.</summary>
    public static void MapMailApi(this IEndpointRouteBuilder api)
    {
        var mail = api.MapGroup("/accounts/{username}/mail");
        mail.MapGet("/addresses", async (string username, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            await functions.ListAsync(await actor.GetAsync(), username, ct));
        mail.MapGet("/addresses/page", async (string username, [AsParameters] MailListQuery query, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            await functions.PageAsync(await actor.GetAsync(), username, query, ct));
        mail.MapGet("/forwarders/page", async (string username, [AsParameters] MailListQuery query, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            await functions.PageForwardersAsync(await actor.GetAsync(), username, query, ct));
        mail.MapPost("/addresses", async (string username, NewEmailAccount request, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            Results.Created($"/api/v1/accounts/{username}/mail/addresses", await functions.CreateAsync(await actor.GetAsync(), username, request, ct)));
        mail.MapDelete("/addresses/{address}", async (string username, string address, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
        {
            await functions.DeleteAsync(await actor.GetAsync(), username, address, ct);
            return Results.NoContent();
        });
        mail.MapPut("/addresses/{address}/password", async (string username, string address, PasswordChange change, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
        {
            await functions.ChangePasswordAsync(await actor.GetAsync(), username, address, change.Password, ct);
            return Results.NoContent();
        });
        mail.MapPut("/addresses/{address}/quota", async (string username, string address, QuotaChange change, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
        {
            await functions.ChangeQuotaAsync(await actor.GetAsync(), username, address, change.QuotaMegabytes, ct);
            return Results.NoContent();
        });
        mail.MapGet("/addresses/{address}/sieve", async (string username, string address, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            await functions.GetSieveAsync(await actor.GetAsync(), username, address, ct));
        mail.MapPut("/addresses/{address}/sieve", async (string username, string address, MailboxSieve sieve, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            await functions.SetSieveAsync(await actor.GetAsync(), username, address, sieve, ct));
        mail.MapPut("/forwarders/{id:long}", async (string username, long id, ForwarderChange change, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            await functions.UpdateForwarderAsync(await actor.GetAsync(), username, id, change, ct));
        mail.MapGet("/forwarders", async (string username, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            await functions.ListForwardersAsync(await actor.GetAsync(), username, ct));
        mail.MapPost("/forwarders", async (string username, NewForwarder request, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
            Results.Created($"/api/v1/accounts/{username}/mail/forwarders", await functions.AddForwarderAsync(await actor.GetAsync(), username, request, ct)));
        mail.MapDelete("/forwarders/{id:long}", async (string username, long id, MailFunctions functions, ICurrentActor actor, CancellationToken ct) =>
        {
            await functions.DeleteForwarderAsync(await actor.GetAsync(), username, id, ct);
            return Results.NoContent();
        });
    }

    /// <summary>Admins: measure every account's mail now (a recurring job does it on <c>Portal:Mail:UsageSchedule</c>).</summary>
    public static void MapMailAdminApi(this IEndpointRouteBuilder api) =>
        api.MapPost("/mail/usage/refresh", async (MailUsageService usage, CancellationToken ct) => await usage.RefreshAsync(ct));

    /// <summary>The node API's mail functions of a twin: what the parent calls for an account whose mail is here.</summary>
    public static void MapMailNodeApi(this IEndpointRouteBuilder api)
    {
        var mail = api.MapGroup("/accounts/{username}/mail");
        mail.MapGet("/addresses", async (string username, TwinResolver twins, MailService service, CancellationToken ct) =>
            await service.ListAsync(await twins.FindAsync(username, ct), ct));
        mail.MapGet("/addresses/page", async (string username, [AsParameters] MailListQuery query, TwinResolver twins, MailService service, CancellationToken ct) =>
            await service.PageAsync(await twins.FindAsync(username, ct), query.Normalized(), ct));
        mail.MapGet("/forwarders/page", async (string username, [AsParameters] MailListQuery query, TwinResolver twins, MailService service, CancellationToken ct) =>
            await service.PageForwardersAsync(await twins.FindAsync(username, ct), query.Normalized(), ct));
        mail.MapPost("/addresses", async (string username, NewEmailAccount request, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
            await service.CreateAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), request, ct));
        mail.MapDelete("/addresses/{address}", async (string username, string address, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
        {
            await service.DeleteAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), address, ct);
            return new NodeApiOk();
        });
        mail.MapPut("/addresses/{address}/password", async (string username, string address, PasswordChange change, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
        {
            await service.ChangePasswordAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), address, change.Password, ct);
            return new NodeApiOk();
        });
        mail.MapPut("/addresses/{address}/quota", async (string username, string address, QuotaChange change, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
        {
            await service.ChangeQuotaAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), address, change.QuotaMegabytes, ct);
            return new NodeApiOk();
        });
        mail.MapGet("/addresses/{address}/sieve", async (string username, string address, TwinResolver twins, MailService service, CancellationToken ct) =>
            await service.GetSieveAsync(await twins.FindAsync(username, ct), address, ct));
        mail.MapPut("/addresses/{address}/sieve", async (string username, string address, MailboxSieve sieve, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
            await service.SetSieveAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), address, sieve, ct));
        mail.MapPut("/forwarders/{id:long}", async (string username, long id, ForwarderChange change, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
            await service.UpdateForwarderAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), id, change, ct));
        mail.MapGet("/forwarders", async (string username, TwinResolver twins, MailService service, CancellationToken ct) =>
            await service.ListForwardersAsync(await twins.FindAsync(username, ct), ct));
        mail.MapPost("/forwarders", async (string username, NewForwarder request, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
            await service.AddForwarderAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), request, ct));
        mail.MapDelete("/forwarders/{id:long}", async (string username, long id, TwinResolver twins, MailService service, HttpContext http, CancellationToken ct) =>
        {
            await service.DeleteForwarderAsync(TwinResolver.Actor(http), await twins.FindAsync(username, ct), id, ct);
            return new NodeApiOk();
        });
        mail.MapGet("/configuration", async (string username, TwinResolver twins, MailService service, CancellationToken ct) =>
            await service.ExportConfigurationAsync(await twins.FindAsync(username, ct), ct));
        mail.MapPut("/configuration", async (string username, MailConfigurationImport import, TwinResolver twins, MailService service, CancellationToken ct) =>
        {
            await service.ImportConfigurationAsync(await twins.FindAsync(username, ct), import.Configuration, import.DisablePipes, ct, from: "the parent");
            return new NodeApiOk();
        });
    }
}

