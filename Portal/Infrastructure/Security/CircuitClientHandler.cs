using Microsoft.AspNetCore.Components.Server.Circuits;

namespace Portal.Infrastructure.Security;

internal sealed class CircuitClientHandler(CircuitClient client, IHttpContextAccessor accessor) : CircuitHandler
{
    public override Task OnCircuitOpenedAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        client.InCircuit = true;
        client.Address ??= accessor.HttpContext?.Connection.RemoteIpAddress?.ToString();
        return Task.CompletedTask;
    }
}
