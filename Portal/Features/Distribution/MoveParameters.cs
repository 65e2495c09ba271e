namespace Portal.Features.Distribution;

/// <summary>
/// What a move operation carries besides its target (the account): the node the mail goes to (or comes back from, for
/// a dedistribution), and for a move between children the one it leaves. No secrets.
/// </summary>
public sealed record MoveParameters(Guid NodeId, Guid? FromNodeId = null)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static MoveParameters FromJson(string? json) =>
        JsonSerializer.Deserialize<MoveParameters>(json ?? throw new InvalidOperationException("The move operation has no parameters."))
        ?? throw new InvalidOperationException("The move operation's parameters are empty.");
}
