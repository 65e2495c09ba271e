using System.Text.Json;

namespace Portal.Features.Distribution;

/// <summary>What a move operation carries besides its target (the account): where the mail goes. No secrets.</summary>
public sealed record MoveParameters(Guid NodeId)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static MoveParameters FromJson(string? json) =>
        JsonSerializer.Deserialize<MoveParameters>(json ?? throw new InvalidOperationException("The move operation has no parameters."))
        ?? throw new InvalidOperationException("The move operation's parameters are empty.");
}
