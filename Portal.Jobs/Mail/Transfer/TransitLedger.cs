namespace Portal.Jobs.Mail;

/// <summary>
/// The messages one run of a move copied and the receiver accepted: it hashed what it wrote and compared that with the
/// digest (XXH128, or SHA-256 with an older receiver) of what this node read, so each was checked byte for byte on
/// arrival. Kept in memory for the run only (after a restart nothing is known and verification hashes everything);
/// keyed by mailbox and message name without its flags, with the size, since a Maildir message's content never
/// changes once delivered.
/// </summary>
public sealed class TransitLedger
{
    private readonly Dictionary<string, long> _checked = new(StringComparer.Ordinal);

    public void Add(IEnumerable<PlannedCopy> batch, IReadOnlyList<RejectedFile> rejected)
    {
        var refused = rejected.Select(r => Key(r.LocalPart, r.Path)).ToHashSet(StringComparer.Ordinal);
        foreach (var copy in batch)
        {
            var key = Key(copy.LocalPart, copy.File.Path);
            if (!refused.Contains(key))
            {
                _checked[key] = copy.File.Size;
            }
        }
    }

    /// <summary>Whether this message, as it is here now (its size), was checked on arrival at the other node.</summary>
    public bool Covers(string localPart, ManifestFile file) =>
        _checked.TryGetValue(Key(localPart, file.Path), out var size) && size == file.Size;

    private static string Key(string localPart, string path) => localPart + "/" + Maildir.MessageKey(path);
}
