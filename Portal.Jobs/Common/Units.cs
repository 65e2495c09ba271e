namespace Portal.Jobs.Common;

/// <summary>Human-readable sizes, rates and durations, the same in logs, summaries and the UI.</summary>
public static class Units
{
    private static readonly string[] ByteUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    public static string Bytes(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < ByteUnits.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var format = unit == 0 ? "0" : "0.#";
        return value.ToString(format, CultureInfo.InvariantCulture) + " " + ByteUnits[unit];
    }

    public static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            duration = TimeSpan.Zero;
        }

        return duration.TotalSeconds < 60 ? $"{Math.Ceiling(duration.TotalSeconds):0} s"
            : duration.TotalMinutes < 60 ? $"{(int)duration.TotalMinutes} min {duration.Seconds} s"
            : duration.TotalHours < 48 ? $"{(int)duration.TotalHours} h {duration.Minutes} min"
            : $"{(int)duration.TotalDays} d {duration.Hours} h";
    }
}
