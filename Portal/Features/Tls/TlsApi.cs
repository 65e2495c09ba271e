namespace Portal.Features.Tls;

public static class TlsApi
{
    /// <summary>
    /// Admins: every account's certificate (names, state, issuer, valid until, last attempt and why it failed), the
    /// nodes' panel certificates (<c>/ssl/hosts</c>), and
    /// "Run AutoSSL now" for all, one account (<c>?account=</c>) or one panel host name (<c>?host=</c>), as an operation (202 with its id).
    /// </summary>
    public static void MapTlsAdminApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/ssl/certificates", async (AutoSslService autoSsl, CancellationToken ct) => await autoSsl.ListAsync(ct));
        api.MapGet("/ssl/hosts", async (AutoSslService autoSsl, CancellationToken ct) => await autoSsl.ListHostsAsync(ct));
        api.MapGet("/ssl/certificates/{username}/chain", async (string username, AutoSslService autoSsl, CancellationToken ct) =>
            Results.Text(await autoSsl.ChainAsync(username, ct), "application/pem-certificate-chain"));
        api.MapPost("/ssl/run", async (string? account, string? host, AutoSslRunJob runs, ICurrentActor actor, CancellationToken ct) =>
        {
            var id = await runs.StartAsync(await actor.GetAsync(), account, host, ct);
            return Results.Accepted($"/api/v1/operations/{id}", new { operationId = id });
        });
    }

    /// <summary>
    /// A child's side: the parent sends the certificate of an account whose mail is served here (checked before it is
    /// kept; it goes with the account's copy here), and this node's own panel certificate when it asked for one.
    /// </summary>
    public static void MapTlsNodeApi(this IEndpointRouteBuilder parent)
    {
        parent.MapPut("/accounts/{username}/mail/certificate", async (string username, MailCertificate certificate, TwinResolver twins, MailCertificates certificates, CancellationToken ct) =>
        {
            await certificates.AcceptAsync(await twins.FindAsync(username, ct), certificate, ct);
            return new NodeApiOk();
        });
        parent.MapPut("/panel/certificate", async (MailCertificate certificate, PanelCertificates panels, CancellationToken ct) =>
        {
            await panels.AcceptAsync(certificate, ct);
            return new NodeApiOk();
        });
    }
}
