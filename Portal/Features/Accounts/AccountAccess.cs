namespace Portal.Features.Accounts;

/// <summary>
/// Who may see which account: admins every account, a reseller the accounts it owns, an account owner its own.
/// Anything else reads as "no such account", so nobody learns of accounts that are not theirs.
/// </summary>
public static class AccountAccess
{
    public static IQueryable<Account> VisibleTo(this IQueryable<Account> accounts, Actor actor)
    {
        if (actor.IsAdmin)
        {
            return accounts;
        }

        if (actor.IsInRole(PortalRoles.Reseller) && actor.UserId is { } reseller)
        {
            return accounts.Where(a => a.ResellerId == reseller);
        }

        if (actor.IsInRole(PortalRoles.User) && actor.UserId is { } owner)
        {
            return accounts.Where(a => a.UserId == owner);
        }

        return accounts.Where(_ => false);
    }

    public static async Task<Account> FindVisibleAsync(PortalDbContext db, Actor actor, string username, CancellationToken ct) =>
        await db.Accounts.VisibleTo(actor).SingleOrDefaultAsync(a => a.Username == username, ct)
        ?? throw NotVisible(username);

    /// <summary>
    /// The answer to any change of a parent's account made on its child (its settings, name, mail, termination): the
    /// parent owns it and changes it here through the node API; the child's own admins only read it.
    /// </summary>
    public static PortalConflictException ChangedOnTheParent(string username, string doThere = "change it on the parent, which updates it here") =>
        new($"Account {username} is distributed from this node's parent; {doThere}.", code: "account.twin");

    /// <summary>The answer for an account that does not exist or is not the actor's to see (the two read the same).</summary>
    public static PortalNotFoundException NotVisible(string username) =>
        new($"There is no account \"{username}\" that you can see on this node.");
}
