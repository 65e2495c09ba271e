namespace Portal.Features.Passwords;

/// <summary>What the estimator found in a password: its strength and the guessable parts it is made of.</summary>
public sealed record PasswordEstimate(int Strength, IReadOnlyList<string> WeakParts);

/// <summary>
/// A password's strength on Portal's 0-100 scale: the entropy in bits that zxcvbn (Dropbox's estimator, through
/// zxcvbn-core) estimates for it, capped at 100. zxcvbn models how attackers guess (common passwords and words,
/// names, keyboard patterns, sequences, repeats, dates, l33t substitutions), so "Password123!" scores low though it
/// has every character class. Each point doubles the guesses needed; 50 is about a quadrillion.
/// </summary>
public static class PasswordStrength
{
    /// <summary>Longer passwords are refused before estimating (the estimator's matching grows with length).</summary>
    public const int MaxLength = 256;

    public const int Max = 100;

    public static PasswordEstimate Estimate(string password, IEnumerable<string?>? userInputs = null)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length == 0)
        {
            return new PasswordEstimate(0, []);
        }

        var inputs = (userInputs ?? []).Where(i => !string.IsNullOrWhiteSpace(i)).SelectMany(Pieces).Distinct().ToList();
        var result = Zxcvbn.Zxcvbn.MatchPassword(password[..Math.Min(password.Length, MaxLength)], inputs);
        var strength = (int)Math.Clamp(Math.Floor(result.Entropy), 0, Max);
        var weak = result.MatchSequence
            .Where(m => m.Pattern != "bruteforce")
            .Select(m => Describe(m.Pattern, m.Token))
            .Distinct()
            .ToArray();
        return new PasswordEstimate(strength, weak);
    }

    // A user name or address is matched as a whole and by its parts ("ann", "example" of ann@example.com).
    private static IEnumerable<string> Pieces(string? input)
    {
        var value = input!.Trim().ToLowerInvariant();
        yield return value;
        foreach (var part in value.Split(['@', '.', '-', '_', '+'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Length >= 3)
            {
                yield return part;
            }
        }
    }

    private static string Describe(string pattern, string token) => pattern switch
    {
        "dictionary" => $"a common word, name or password (\"{token}\")",
        "spatial" => $"a keyboard pattern (\"{token}\")",
        "repeat" => $"repeated characters (\"{token}\")",
        "sequence" => $"a sequence (\"{token}\")",
        "digits" => $"a run of digits (\"{token}\")",
        "year" or "date" => $"a date or year (\"{token}\")",
        _ => $"a guessable part (\"{token}\")",
    };
}
