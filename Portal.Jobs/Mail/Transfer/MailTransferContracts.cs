namespace Portal.Jobs.Mail;

/// <summary>What a node holds of an account's mail: per mailbox, every message file (hashes only when asked for).</summary>
/// <param name="TransitDigests">The digests this node's receiver takes in a mail batch (<see cref="MailBatchFormat"/>); absent from an older node's.</param>
public sealed record MailManifest(IReadOnlyList<MailboxManifest> Mailboxes, IReadOnlyList<string>? TransitDigests = null);

/// <summary>How a mail batch's frames prove their content arrived as sent (<see cref="MailBatchFormat"/>).</summary>
public enum TransitDigest
{
    Sha256,
    XxHash128,
}

public sealed record MailboxManifest(string LocalPart, IReadOnlyList<ManifestFile> Files);

/// <param name="Size">The file's size, or <see cref="UnknownSize"/> in a listing of paths only.</param>
public sealed record ManifestFile(string Path, long Size, string? Sha256 = null)
{
    public const long UnknownSize = -1;
}

/// <summary>
/// How much a manifest says of each file. Paths alone need no file to be opened or measured (one directory read per
/// folder), which is what planning a pass on the receiver and the switch baseline need; sizes cost a stat per file,
/// hashes a read of every byte.
/// </summary>
public enum ManifestDetail
{
    Paths,
    Sizes,
    Hashes,
}

/// <summary>The receiver's answer to one streamed batch.</summary>
public sealed record BatchResult(int Accepted, long AcceptedBytes, IReadOnlyList<RejectedFile> Rejected);

public sealed record RejectedFile(string LocalPart, string Path, string Reason);

/// <summary>Renames (flag changes, moves between folders) and deletions to apply to the receiver's copy.</summary>
public sealed record MailChanges(IReadOnlyList<MailRename> Renames, IReadOnlyList<MailDeletion> Deletions)
{
    /// <summary>The most renames or deletions sent in one request: as many as a batch has files.</summary>
    public const int MaxPerRequest = MailBatchFormat.MaxBatchFiles;

    /// <summary>These changes as requests of at most <see cref="MaxPerRequest"/> each: the renames, then the deletions.</summary>
    public IEnumerable<MailChanges> InRequests() =>
        Renames.Chunk(MaxPerRequest).Select(r => new MailChanges(r, []))
            .Concat(Deletions.Chunk(MaxPerRequest).Select(d => new MailChanges([], d)));
}

public sealed record MailRename(string LocalPart, string From, string To);

public sealed record MailDeletion(string LocalPart, string Path);

public sealed record ChangesResult(int Renamed, int Deleted);

/// <summary>
/// The streamed batch format: a sequence of frames, each a file with its path, size, content and the sender's digest
/// of the content after it (so neither side reads a file twice), ended by a zero byte.
/// <code>frame := type u16 len, localPart, u16 len, path, i64 size, content[size], digest | 0x00</code>
/// Integers are little-endian. The frame type names the digest: 0x01 SHA-256 (32 bytes), 0x02 XXH128 (16 bytes,
/// big-endian as XxHash128 writes it). A receiver takes both; a sender uses XXH128 only with a receiver whose manifest
/// offers it (<see cref="MailManifest.TransitDigests"/>), so nodes of an older version still get SHA-256.
/// <para>
/// The digest in transit detects damage on the way (a flipped bit, a truncated stream, a bug), which a 128-bit hash
/// does as surely as SHA-256 at a tenth of the cost. It is not what protects against a hostile node: a sender can
/// send whatever content it likes with a matching digest of any kind, and the link between nodes is TLS. Verification
/// after a move hashes with SHA-256 whatever was not checked in transit (<see cref="TransitLedger"/>).
/// </para>
/// </summary>
public static class MailBatchFormat
{
    public const string MediaType = "application/vnd.portal.mail-batch";
    public const byte FileFrame = 1;
    public const byte FileFrameXxHash128 = 2;
    public const byte EndFrame = 0;

    /// <summary>The names a manifest and an export request use for the transit digests.</summary>
    public const string Sha256 = "sha256";
    public const string XxHash128 = "xxh128";

    /// <summary>What this node's receiver takes, as its manifests say.</summary>
    public static readonly IReadOnlyList<string> ReceivedDigests = [Sha256, XxHash128];

    /// <summary>The digest to send a receiver that offers <paramref name="offered"/> (null: a node too old to say).</summary>
    public static TransitDigest DigestFor(IReadOnlyList<string>? offered) =>
        offered?.Contains(XxHash128) == true ? TransitDigest.XxHash128 : TransitDigest.Sha256;

    public static string NameOf(TransitDigest digest) => digest == TransitDigest.XxHash128 ? XxHash128 : Sha256;

    /// <summary>The digest an export request names; anything else (or none) is SHA-256, which every receiver takes.</summary>
    public static TransitDigest Parse(string? name) => name == XxHash128 ? TransitDigest.XxHash128 : TransitDigest.Sha256;

    /// <summary>A batch is cut at this many bytes or files, whichever comes first; each batch is made durable at once.</summary>
    public const long MaxBatchBytes = 64L * 1024 * 1024;
    public const int MaxBatchFiles = 5_000;

    /// <summary>
    /// The most a receiver takes in one batch, whatever the sender says (another node is untrusted): what the largest
    /// batch settings (Portal:Distribution:BatchMegabytes, BatchFiles) make, beyond a single large message.
    /// </summary>
    public const long ReceiverLimitBytes = 4096L * 1024 * 1024;
    public const int ReceiverLimitFiles = 100_000;
}

/// <summary>The parent's request for an archive: its own operation's id, so a repeated request finds the same archive.</summary>
public sealed record MailArchiveRequestBody(Guid RequestId);

/// <summary>A child began archiving an account's mail; the id names the archive and the child's operation.</summary>
public sealed record MailArchiveStarted(Guid Id);

/// <summary>How the child's archiving is going; the manifest and content can be fetched once it succeeded.</summary>
public sealed record MailArchiveStatus(Guid Id, string State, double Percent, long FilesDone, long? FilesTotal, long BytesDone, long? BytesTotal, string? Error)
{
    public bool Succeeded => State == "Succeeded";

    public bool Failed => State is "Failed" or "Cancelled";
}

/// <summary>Files a node is asked to send, as a streamed batch in <see cref="MailBatchFormat"/>.</summary>
/// <param name="Digest">The transit digest the batch is to carry (what its receiver offers); null or unknown: SHA-256.</param>
public sealed record MailExportRequest(IReadOnlyList<MailFileRequest> Files, string? Digest = null);

public sealed record MailFileRequest(string LocalPart, string Path, long Size);

/// <summary>Where a child sends a twin's mail now (an IP address), or null to serve it itself again.</summary>
public sealed record MailRedirect(string? Address);

/// <summary>
/// When the parent deletes a child's copy of an account whose mail has gone (its scheduled deletion), for the child's
/// admins to see; null: no date (the deletion was cancelled, the copy stays until an admin removes it).
/// </summary>
public sealed record TwinKeptUntil(DateTimeOffset? Until);

public sealed record SessionsEnded(int Addresses);

/// <summary>The duplicate records (<see cref="DovecotDuplicates"/>) of an account's mailboxes on a node.</summary>
public sealed record MailDuplicates(IReadOnlyList<MailboxDuplicates> Mailboxes);

public sealed record MailboxDuplicates(string LocalPart, byte[] Record);

/// <summary>How many mailboxes took a record, and how many entries their records hold now in all.</summary>
public sealed record DuplicatesMerged(int Mailboxes, int Entries);

/// <summary>Messages a move brought to a node lately: it records their Message-IDs as delivered there.</summary>
public sealed record MailDelivered(IReadOnlyList<MailFileRef> Files);

public sealed record MailFileRef(string LocalPart, string Path);

/// <summary>
/// A certificate the parent sends a child: an account's, to the child that serves its mail, or the child's own panel
/// certificate. The chain (PEM, leaf first) and its private key (PKCS#8 PEM). A secret: never logged.
/// </summary>
public sealed record MailCertificate(string ChainPem, string KeyPem)
{
    public override string ToString() => "MailCertificate { KeyPem = (hidden) }";
}
