namespace Portal.Features.Packages;

/// <summary>The packages API: admins manage packages and resellers' limits; admins and resellers list packages and put their accounts on one.</summary>
public static class PackagesApi
{
    /// <summary>For admins and resellers (the service says which may do what).</summary>
    public static void MapPackagesApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/packages", async (PackageService packages, ICurrentActor actor, CancellationToken ct) =>
            await packages.ListAsync(await actor.GetAsync(), ct));

        api.MapGet("/packages/{name}", async (string name, PackageService packages, ICurrentActor actor, CancellationToken ct) =>
            await packages.GetAsync(await actor.GetAsync(), name, ct));

        api.MapPut("/accounts/{username}/package", async (string username, AccountPackageChange change, PackageService packages, ICurrentActor actor, CancellationToken ct) =>
            await packages.SetAccountPackageAsync(await actor.GetAsync(), username, change.Package, ct));
    }

    public static void MapPackagesAdminApi(this IEndpointRouteBuilder api)
    {
        api.MapPost("/packages", async (PackageSpec spec, PackageService packages, ICurrentActor actor, CancellationToken ct) =>
        {
            var created = await packages.CreateAsync(await actor.GetAsync(), spec, ct);
            return Results.Created($"/api/v1/packages/{Uri.EscapeDataString(created.Name)}", created);
        });

        // Changing a package changes its accounts; the preview says how, and which of them would refuse it.
        api.MapPut("/packages/{name}", async (string name, PackageSpec spec, PackageService packages, ICurrentActor actor, CancellationToken ct) =>
            await packages.UpdateAsync(await actor.GetAsync(), name, spec, ct));

        api.MapPost("/packages/{name}/preview", async (string name, PackageSpec spec, PackageService packages, ICurrentActor actor, CancellationToken ct) =>
            await packages.PreviewAsync(await actor.GetAsync(), name, spec, ct));

        api.MapDelete("/packages/{name}", async (string name, PackageService packages, ICurrentActor actor, CancellationToken ct) =>
        {
            await packages.DeleteAsync(await actor.GetAsync(), name, ct);
            return Results.NoContent();
        });

        api.MapPut("/resellers/{name}/limits", async (string name, ResellerLimitsChange change, ResellerLimits limits, ICurrentActor actor, CancellationToken ct) =>
            await limits.SetAsync(await actor.GetAsync(), name, change, ct));
    }
}
