namespace Portal.Jobs.Mail;

public sealed class MailMoveSettings
{
    public long BatchBytes { get; set; } = MailBatchFormat.MaxBatchBytes;

    public int BatchFiles { get; set; } = MailBatchFormat.MaxBatchFiles;

    /// <summary>How long a move keeps retrying while the child cannot be reached, before it gives up.</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often a file damaged in transit is sent again before the move gives up.</summary>
    public int ResendAttempts { get; set; } = 3;

    /// <summary>How many moves run with one linked node at once (<see cref="NodeMoveSlots"/>).</summary>
    public int MovesPerNode { get; set; } = 2;
}
