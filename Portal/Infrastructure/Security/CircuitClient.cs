namespace Portal.Infrastructure.Security;

/// <summary>Facts about the circuit this scope belongs to (if any), captured when the circuit opens.</summary>
public sealed class CircuitClient
{
    public bool InCircuit { get; set; }

    public string? Address { get; set; }
}
