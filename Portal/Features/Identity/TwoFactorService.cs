using System.Text;
using QRCoder;

namespace Portal.Features.Identity;

/// <summary>Where a user stands with two-factor sign-in.</summary>
/// <param name="Required">This node requires it of this user (Portal:Security:RequireTwoFactorForAdmins, for an admin).</param>
public sealed record TwoFactorStatus(bool Enabled, int RecoveryCodesLeft, bool Required);

/// <summary>What an authenticator app needs: the key (to type in) and the same as an otpauth:// address and its QR code.</summary>
/// <param name="KeyIsNew">The key was made just now (the user's security stamp changed with it).</param>
public sealed record AuthenticatorSetup(string SharedKey, string OtpAuthUri, string QrCodePngDataUri, bool KeyIsNew = false);

/// <summary>
/// Two-factor sign-in with an authenticator app (TOTP, RFC 6238, as ASP.NET Core Identity checks it) and one-time
/// recovery codes, for every user of the panel. Turning it on takes a code from the app (so a mistyped key cannot lock
/// anyone out); turning it off takes the password, and is refused to an admin on a node that requires it. Wrong codes
/// and wrong passwords count towards the lockout, as at sign-in. Every change is audited, never with a code in it.
/// </summary>
public sealed class TwoFactorService(UserManager<PortalUser> users, AuditLog audit, IOptions<PortalSettings> settings)
{
    public const int RecoveryCodeCount = 10;

    public async Task<TwoFactorStatus> StatusAsync(Actor actor)
    {
        var user = await UserOfAsync(actor);
        return new TwoFactorStatus(await users.GetTwoFactorEnabledAsync(user), await users.CountRecoveryCodesAsync(user), await IsRequiredAsync(user));
    }

    /// <summary>Whether the node requires two-factor sign-in of this user (an admin, when the setting is on).</summary>
    public async Task<bool> IsRequiredAsync(PortalUser user) =>
        settings.Value.Security.RequireTwoFactorForAdmins && await users.IsInRoleAsync(user, PortalRoles.Admin);

    /// <summary>The key to give the authenticator app; the same one until two-factor sign-in is turned on (a reload shows the same QR code).</summary>
    public async Task<AuthenticatorSetup> SetupAsync(Actor actor)
    {
        actor.RequireOwnSession("two-factor sign-in");
        var user = await UserOfAsync(actor);
        if (await users.GetTwoFactorEnabledAsync(user))
        {
            throw new PortalConflictException("Two-factor sign-in is already on. Turn it off first to set up another authenticator app.", code: "two_factor.enabled");
        }

        var key = await users.GetAuthenticatorKeyAsync(user);
        var keyIsNew = false;
        if (string.IsNullOrEmpty(key))
        {
            keyIsNew = true;
            // Identity changes the security stamp with the key: the caller renews the session's cookie, or it would end
            // at its next check (within a minute, while the user is still scanning the code).
            await users.ResetAuthenticatorKeyAsync(user);
            key = await users.GetAuthenticatorKeyAsync(user) ?? throw new InvalidOperationException("Identity made no authenticator key.");
        }

        var issuer = $"Portal {settings.Value.NodeName}";
        var uri = $"otpauth://totp/{Uri.EscapeDataString(issuer)}:{Uri.EscapeDataString(user.UserName!)}?secret={key}&issuer={Uri.EscapeDataString(issuer)}&digits=6";
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.Q);
        var png = new PngByteQRCode(data).GetGraphic(5);
        return new AuthenticatorSetup(Group(key), uri, "data:image/png;base64," + Convert.ToBase64String(png), keyIsNew);
    }

    /// <summary>Turns two-factor sign-in on once the app's code matches; returns the recovery codes, shown this once.</summary>
    public async Task<IReadOnlyList<string>> EnableAsync(Actor actor, string code)
    {
        actor.RequireOwnSession("two-factor sign-in");
        var user = await UserOfAsync(actor);
        if (await users.GetTwoFactorEnabledAsync(user))
        {
            throw new PortalConflictException("Two-factor sign-in is already on.", code: "two_factor.enabled");
        }

        if (!await users.VerifyTwoFactorTokenAsync(user, users.Options.Tokens.AuthenticatorTokenProvider, Digits(code)))
        {
            await users.AccessFailedAsync(user);
            await audit.RecordAsync(actor, "auth.two_factor.enable", user.UserName, AuditOutcome.Refused, "The authenticator code did not match.");
            throw new PortalValidationException(
                "That code is not the one the app shows now. Type the 6 digits the app shows for this account (a new one comes every 30 seconds); if it keeps failing, check that the phone's clock is set automatically.",
                code: "two_factor.wrong_code");
        }

        await users.SetTwoFactorEnabledAsync(user, true);
        var codes = (await users.GenerateNewTwoFactorRecoveryCodesAsync(user, RecoveryCodeCount))?.ToArray() ?? [];
        await audit.RecordAsync(actor, "auth.two_factor.enable", user.UserName, AuditOutcome.Succeeded, $"{codes.Length} recovery codes made.");
        return codes;
    }

    /// <summary>New recovery codes, the old ones no longer working; shown this once.</summary>
    public async Task<IReadOnlyList<string>> NewRecoveryCodesAsync(Actor actor)
    {
        actor.RequireOwnSession("two-factor sign-in");
        var user = await UserOfAsync(actor);
        if (!await users.GetTwoFactorEnabledAsync(user))
        {
            throw new PortalConflictException("Two-factor sign-in is off, so there are no recovery codes to renew. Turn it on first.", code: "two_factor.disabled");
        }

        var codes = (await users.GenerateNewTwoFactorRecoveryCodesAsync(user, RecoveryCodeCount))?.ToArray() ?? [];
        await audit.RecordAsync(actor, "auth.two_factor.recovery_codes", user.UserName, AuditOutcome.Succeeded, $"{codes.Length} new recovery codes; the old ones no longer work.");
        return codes;
    }

    /// <summary>Turns two-factor sign-in off, given the user's password; the next setup gets a new key.</summary>
    public async Task DisableAsync(Actor actor, string password)
    {
        actor.RequireOwnSession("two-factor sign-in");
        var user = await UserOfAsync(actor);
        if (await IsRequiredAsync(user))
        {
            const string message = "This node requires two-factor sign-in of its administrators, so it cannot be turned off. To move it to another phone, renew the recovery codes and ask another admin to reset it.";
            await audit.RecordAsync(actor, "auth.two_factor.disable", user.UserName, AuditOutcome.Refused, message);
            throw new PortalForbiddenException(message, "two_factor.required");
        }

        if (!await users.CheckPasswordAsync(user, password))
        {
            await users.AccessFailedAsync(user);
            await audit.RecordAsync(actor, "auth.two_factor.disable", user.UserName, AuditOutcome.Refused, "Wrong password.");
            throw new PortalValidationException("The password is not right; two-factor sign-in stays on.", code: "two_factor.wrong_password");
        }

        await users.SetTwoFactorEnabledAsync(user, false);
        await users.ResetAuthenticatorKeyAsync(user);
        await audit.RecordAsync(actor, "auth.two_factor.disable", user.UserName, AuditOutcome.Succeeded);
    }

    /// <summary>
    /// An admin turns another user's two-factor sign-in off (a lost phone and no recovery code left); the user signs
    /// in with the password alone and sets it up again (at once, for an admin on a node that requires it).
    /// </summary>
    public async Task ResetAsync(Actor actor, string userName)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "auth.two_factor.reset", userName, AuditOutcome.Refused, "Not an admin.");
            throw new PortalForbiddenException("Only admins reset another user's two-factor sign-in.");
        }

        var user = await users.FindByNameAsync(userName) ?? throw new PortalNotFoundException($"There is no user \"{userName}\" on this node.");
        await users.SetTwoFactorEnabledAsync(user, false);
        await users.ResetAuthenticatorKeyAsync(user);
        await audit.RecordAsync(actor, "auth.two_factor.reset", userName, AuditOutcome.Succeeded, "Two-factor sign-in turned off by an admin.");
    }

    private async Task<PortalUser> UserOfAsync(Actor actor) =>
        actor.UserId is { } id && await users.FindByIdAsync(id) is { } user
            ? user
            : throw new PortalForbiddenException("Sign in first.");

    /// <summary>What a person typed, as the digits the check wants ("123 456" and "123-456" are 123456).</summary>
    internal static string Digits(string? code) => new((code ?? "").Where(char.IsAsciiDigit).ToArray());

    /// <summary>The key in groups of four, easier to type.</summary>
    private static string Group(string key)
    {
        var text = new StringBuilder();
        for (var i = 0; i < key.Length; i += 4)
        {
            text.Append(key.AsSpan(i, Math.Min(4, key.Length - i))).Append(' ');
        }

        return text.ToString().TrimEnd().ToLowerInvariant();
    }
}
