namespace Portal.Components.Accounts;

internal static class AccountEndpoints
{
    /// <summary>
    /// Zone file downloads for the account pages (a browser link with the session cookie); the API has its own.
    /// Each is under its area's prefix and policy.
    /// </summary>
    public static void MapZoneFileDownloads(this IEndpointRouteBuilder app)
    {
        foreach (var (prefix, policy) in new[] { ("/admin", PortalPolicies.Admin), ("/reseller", PortalPolicies.Reseller) })
        {
            app.MapGet(prefix + "/accounts/{username}/zone-file", async (string username, DnsZoneService zones, ICurrentActor actor, CancellationToken ct) =>
            {
                try
                {
                    var text = await zones.ExportAsync(await actor.GetAsync(), username, ct);
                    return Results.File(System.Text.Encoding.UTF8.GetBytes(text), "text/dns", $"{username}.zone");
                }
                catch (PortalNotFoundException)
                {
                    return Results.NotFound();
                }
            }).RequireAuthorization(policy).ExcludeFromDescription();
        }
    }
}

/// <summary>
/// The webmail entry point of an account owner: for mail on a child, https://webmail.&lt;domain&gt;/ (DNS sends it
/// there; there is no sign-in through the parent); for mail here, this node's configured webmail.
/// </summary>
public static class WebmailEndpoint
{
    public static void MapWebmail(this IEndpointRouteBuilder app) =>
        app.MapGet("/webmail", async (AccountQueries queries, ICurrentActor current, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            var actor = await current.GetAsync();
            AccountRow account;
            try
            {
                account = await queries.GetAsync(actor, actor.Name, ct);
            }
            catch (PortalNotFoundException)
            {
                return Results.Content(Page("No hosting account belongs to this sign-in, so there is no mailbox to read."), "text/html; charset=utf-8", statusCode: 404);
            }

            if (account.Status == AccountStatus.Suspended)
            {
                return Results.Content(Page(AccountSuspension.Explain(account.Username, account.SuspensionReason)), "text/html; charset=utf-8", statusCode: 403);
            }

            if (!account.Features.Contains(AccountFeatures.Webmail))
            {
                return Results.Content(Page($"The \"Webmail\" feature is off for your account {account.Username}. Read your mail with a mail program (IMAP), or ask your hosting provider to turn webmail on."), "text/html; charset=utf-8", statusCode: 403);
            }

            return WebmailAddress(account, settings.Value.Mail) is { } address
                ? Results.Redirect(address)
                : Results.Content(Page("This server offers no webmail. Read your mail with a mail program (IMAP), or ask your provider."), "text/html; charset=utf-8", statusCode: 404);
        }).RequireAuthorization(PortalPolicies.Account).ExcludeFromDescription();

    /// <summary>
    /// Where the account's owner reads mail on the web, or null when this node offers no webmail: the child's
    /// webmail.&lt;domain&gt; for mail on a child; for mail here, <c>Portal:Mail:WebmailUrl</c> when set, else this
    /// node's own webmail at webmail.&lt;domain&gt; when it serves one (<c>Portal:Mail:Nginx</c>, scripts/webmail).
    /// </summary>
    public static string? WebmailAddress(AccountRow account, MailSettings mail) =>
        account.IsDistributed ? $"https://webmail.{account.Domain}/"
        : !string.IsNullOrWhiteSpace(mail.WebmailUrl) ? mail.WebmailUrl.Replace("{domain}", account.Domain, StringComparison.Ordinal)
        : !string.IsNullOrWhiteSpace(mail.Nginx) ? $"https://webmail.{account.Domain}/"
        : null;

    // A page of its own (the owner left the panel for it), readable in either color scheme and on a phone.
    private static string Page(string text) =>
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
        "<meta name=\"color-scheme\" content=\"light dark\"><title>Webmail · Portal</title><style>" +
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;min-height:100vh;display:grid;place-items:center;background:Canvas;color:CanvasText}" +
        "main{max-width:32rem;margin:1.5rem;padding:1.5rem 2rem;border:1px solid color-mix(in srgb,CanvasText 20%,transparent);border-radius:8px}" +
        "h1{font-size:1.25rem;margin:0 0 .75rem}p{line-height:1.5}a{color:LinkText}</style></head>" +
        $"<body><main><h1>Webmail</h1><p>{System.Net.WebUtility.HtmlEncode(text)}</p><p><a href=\"/account\">Back to my account</a></p></main></body></html>";
}
