namespace Portal.Infrastructure.Data;

/// <summary>
/// The longest free text a row keeps (a log line, an audit entry's details, an operation's error, a notification): the
/// columns are this wide, and what is longer is cut to fit rather than refused, so a long message never fails the
/// work that writes it.
/// </summary>
public static class StoredText
{
    public const int MaxLength = 4000;

    public static string Clip(string text) => text.Length > MaxLength ? text[..MaxLength] : text;

    public static string? ClipOrNull(string? text) => text is null ? null : Clip(text);
}
