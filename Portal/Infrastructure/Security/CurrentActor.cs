using Microsoft.AspNetCore.Components.Authorization;

namespace Portal.Infrastructure.Security;

/// <summary>The actor of the current unit of work, whether it runs in an HTTP request or in a Blazor circuit.</summary>
public interface ICurrentActor
{
    Task<Actor> GetAsync();
}

internal sealed class CurrentActor(
    IHttpContextAccessor accessor,
    CircuitClient circuit,
    IServiceProvider services) : ICurrentActor
{
    public async Task<Actor> GetAsync()
    {
        if (circuit.InCircuit)
        {
            var auth = services.GetRequiredService<AuthenticationStateProvider>();
            var state = await auth.GetAuthenticationStateAsync();
            return Actor.From(state.User, circuit.Address);
        }

        if (accessor.HttpContext is { } http)
        {
            return Actor.From(http.User, http.Connection.RemoteIpAddress?.ToString());
        }

        return Actor.System;
    }
}
