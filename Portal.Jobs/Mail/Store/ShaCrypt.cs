using System.Security.Cryptography;

namespace Portal.Jobs.Mail;

/// <summary>
/// SHA512-CRYPT ("$6$", Ulrich Drepper's SHA-crypt), the salted password scheme Dovecot verifies with
/// <c>{SHA512-CRYPT}</c>. Email passwords are only ever stored this way.
/// </summary>
public static class ShaCrypt
{
    private const string Prefix = "$6$";
    private const string RoundsPrefix = "rounds=";
    private const int DefaultRounds = 5000;
    private const string Alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Hashes a password with a fresh 16-character salt, in the form Dovecot's passwd-file takes.</summary>
    public static string HashForDovecot(string password, int rounds = DefaultRounds) =>
        "{SHA512-CRYPT}" + Hash(password, RandomNumberGenerator.GetString(Alphabet, 16), rounds);

    public static bool VerifyDovecot(string password, string stored) =>
        stored.StartsWith("{SHA512-CRYPT}", StringComparison.Ordinal) && Verify(password, stored["{SHA512-CRYPT}".Length..]);

    public static bool Verify(string password, string crypt)
    {
        if (!crypt.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var setting = crypt[Prefix.Length..];
        var rounds = DefaultRounds;
        var explicitRounds = false;
        if (setting.StartsWith(RoundsPrefix, StringComparison.Ordinal))
        {
            var end = setting.IndexOf('$');
            if (end < 0 || !int.TryParse(setting.AsSpan(RoundsPrefix.Length, end - RoundsPrefix.Length), out rounds))
            {
                return false;
            }

            explicitRounds = true;
            setting = setting[(end + 1)..];
        }

        var dollar = setting.IndexOf('$');
        if (dollar < 0)
        {
            return false;
        }

        var computed = Hash(password, setting[..dollar], rounds, explicitRounds);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(crypt));
    }

    /// <summary>crypt(3) with a "$6$" setting: the salt (at most 16 characters used) and the rounds.</summary>
    public static string Hash(string password, string salt, int rounds = DefaultRounds, bool? writeRounds = null)
    {
        rounds = Math.Clamp(rounds, 1000, 999_999_999);
        var key = Encoding.UTF8.GetBytes(password);
        var saltBytes = Encoding.UTF8.GetBytes(salt.Length > 16 ? salt[..16] : salt);

        // Steps 1-8: digest B = H(key salt key).
        var b = SHA512.HashData([.. key, .. saltBytes, .. key]);

        // Steps 1-12: digest A = H(key salt B-repeated bits-of-len(key)).
        using var a = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        a.AppendData(key);
        a.AppendData(saltBytes);
        AppendRepeated(a, b, key.Length);
        for (var length = key.Length; length > 0; length >>= 1)
        {
            a.AppendData((length & 1) != 0 ? b : key);
        }

        var digestA = a.GetHashAndReset();

        // Steps 13-16: P from DP = H(key repeated len(key) times).
        using var dp = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        for (var i = 0; i < key.Length; i++)
        {
            dp.AppendData(key);
        }

        var p = Repeat(dp.GetHashAndReset(), key.Length);

        // Steps 17-20: S from DS = H(salt repeated 16 + A[0] times).
        using var ds = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        for (var i = 0; i < 16 + digestA[0]; i++)
        {
            ds.AppendData(saltBytes);
        }

        var s = Repeat(ds.GetHashAndReset(), saltBytes.Length);

        // Step 21: the rounds.
        var c = digestA;
        using var round = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        for (var i = 0; i < rounds; i++)
        {
            round.AppendData((i & 1) != 0 ? p : c);
            if (i % 3 != 0)
            {
                round.AppendData(s);
            }

            if (i % 7 != 0)
            {
                round.AppendData(p);
            }

            round.AppendData((i & 1) != 0 ? c : p);
            c = round.GetHashAndReset();
        }

        var text = new StringBuilder(Prefix);
        if (writeRounds ?? rounds != DefaultRounds)
        {
            text.Append(RoundsPrefix).Append(rounds).Append('$');
        }

        text.Append(Encoding.UTF8.GetString(saltBytes)).Append('$');
        int[][] groups =
        [
            [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7],
            [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57],
            [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
        ];
        foreach (var g in groups)
        {
            Encode(text, (c[g[0]] << 16) | (c[g[1]] << 8) | c[g[2]], 4);
        }

        Encode(text, c[63], 2);
        return text.ToString();
    }

    private static void AppendRepeated(IncrementalHash hash, byte[] block, int length)
    {
        for (; length > block.Length; length -= block.Length)
        {
            hash.AppendData(block);
        }

        hash.AppendData(block, 0, length);
    }

    private static byte[] Repeat(byte[] block, int length)
    {
        var result = new byte[length];
        for (var i = 0; i < length; i++)
        {
            result[i] = block[i % block.Length];
        }

        return result;
    }

    private static void Encode(StringBuilder text, int value, int chars)
    {
        for (var i = 0; i < chars; i++)
        {
            text.Append(Alphabet[value & 0x3f]);
            value >>= 6;
        }
    }
}
