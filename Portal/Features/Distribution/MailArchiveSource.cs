namespace Portal.Features.Distribution;

/// <summary>The child's side: which account's mail an archiving operation takes.</summary>
internal sealed class MailArchiveSource(IDbContextFactory<PortalDbContext> dbFactory, MailService mail, IOptions<PortalSettings> settings) : IMailArchiveSource
{
    public async Task<MailArchiveRequest> LoadAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == operationId, ct);
        var account = await db.Accounts.AsNoTracking().SingleAsync(a => a.Username == operation.Target, ct);
        return new MailArchiveRequest(account.Username, account.Domain, await mail.LocalPartsAsync(account, ct), settings.Value.MailRoot,
            settings.Value.Development.CorruptMailArchives);
    }
}
