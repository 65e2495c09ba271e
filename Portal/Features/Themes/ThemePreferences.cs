namespace Portal.Features.Themes;

/// <summary>Remembers each user's theme on the server, so it follows them to any browser.</summary>
public sealed class ThemePreferences(IDbContextFactory<PortalDbContext> dbFactory, ThemeCatalog catalog)
{
    public async Task<PortalTheme> GetAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        if (actor.UserId is null)
        {
            return catalog.Default;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var id = await db.Users.Where(u => u.Id == actor.UserId).Select(u => u.ThemeId).SingleOrDefaultAsync(cancellationToken);
        return catalog.Resolve(id);
    }

    public async Task<PortalTheme> SetAsync(Actor actor, string themeId, CancellationToken cancellationToken = default)
    {
        if (actor.UserId is null)
        {
            throw new PortalForbiddenException("Sign in to choose a theme.");
        }

        var theme = catalog.Themes.FirstOrDefault(t => t.Id == themeId)
            ?? throw new PortalValidationException($"There is no theme \"{themeId}\"; choose one of: {string.Join(", ", catalog.Themes.Select(t => t.Id))}.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.Users.Where(u => u.Id == actor.UserId).ExecuteUpdateAsync(s => s.SetProperty(u => u.ThemeId, theme.Id), cancellationToken);
        return theme;
    }
}
