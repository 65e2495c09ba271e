namespace Portal.Features.Passwords;

public static class PasswordsApi
{
    /// <summary>The public API: anyone signed in reads the rules and changes their own password; admins set the rules.</summary>
    public static void MapPasswordsApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/password-policy", async (PasswordPolicyService policies, CancellationToken ct) => await policies.GetAsync(ct));

        api.MapGet("/accounts/{username}/password-rules", async (string username, AccountPasswordRules rules, ICurrentActor actor, CancellationToken ct) =>
            await rules.ForAccountAsync(await actor.GetAsync(), username, ct));

        api.MapPut("/me/password", async (OwnPasswordChange change, OwnPasswordService passwords, ICurrentActor actor, CancellationToken ct) =>
        {
            await passwords.ChangeAsync(await actor.GetAsync(), change, ct);
            return Results.NoContent();
        });
    }

    public static void MapPasswordsAdminApi(this IEndpointRouteBuilder admin) =>
        admin.MapPut("/password-policy", async (PasswordPolicyChange change, PasswordPolicyService policies, ICurrentActor actor, CancellationToken ct) =>
            await policies.SaveAsync(await actor.GetAsync(), change, ct));

    /// <summary>The node API: a parent asks a child for its rules (to say which node's rule governs what).</summary>
    public static void MapPasswordsNodeApi(this IEndpointRouteBuilder api) =>
        api.MapGet("/password-policy", async (PasswordPolicyService policies, CancellationToken ct) => await policies.GetAsync(ct));
}
