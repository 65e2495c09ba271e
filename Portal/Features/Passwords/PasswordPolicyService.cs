namespace Portal.Features.Passwords;

/// <summary>A node's answer for one password: its strength, what the scope requires here, and why it was refused.</summary>
/// <param name="Problem">What the person is told, naming the guessable parts of the password.</param>
/// <param name="AuditProblem">The same refusal without anything of the password, for the audit log.</param>
public sealed record PasswordVerdict(bool Accepted, int Strength, int Required, string Node, PasswordScope Scope, string? Problem, string? AuditProblem = null);

/// <summary>A change of this node's password rules; what is left null stays as it is.</summary>
/// <param name="Scopes">Scope key to its own minimum; null makes the scope follow the default again.</param>
public sealed record PasswordPolicyChange(int? DefaultStrength = null, IReadOnlyDictionary<string, int?>? Scopes = null, int? MaxPasswordAgeDays = null);

/// <summary>
/// This node's password rules: a minimum strength per scope (<see cref="PasswordStrength"/>) and the password age.
/// They are this node's own and never synced: a child's rules govern the passwords of the functions it serves for
/// a distributed account (its email accounts are created and changed there), the parent's govern the rest.
/// </summary>
public sealed class PasswordPolicyService(
    IDbContextFactory<PortalDbContext> dbFactory,
    IOptions<PortalSettings> settings,
    AuditLog audit,
    TimeProvider clock)
{
    /// <summary>The minimum strength of a scope with no rule of its own, until an admin sets one.</summary>
    public const int InitialDefaultStrength = 50;

    public const int MaxPasswordAgeLimitDays = 3650;

    private PasswordPolicyView? _cached;

    public async Task<PasswordPolicyView> GetAsync(CancellationToken ct = default)
    {
        if (_cached is { } cached)
        {
            return cached;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.PasswordPolicies.AsNoTracking().ToDictionaryAsync(p => p.Scope, p => p.MinimumStrength, ct);
        var age = await db.PasswordSettings.AsNoTracking().Select(s => (int?)s.MaxPasswordAgeDays).SingleOrDefaultAsync(ct) ?? 0;
        var fallback = rows.GetValueOrDefault(PasswordPolicy.DefaultScope, InitialDefaultStrength);
        var scopes = PasswordScopes.All.Select(s =>
        {
            int? own = rows.TryGetValue(PasswordScopes.Key(s), out var value) ? value : null;
            return new PasswordScopeRule(PasswordScopes.Key(s), PasswordScopes.Describe(s), own, own ?? fallback);
        }).ToArray();
        return _cached = new PasswordPolicyView(settings.Value.NodeName, fallback, scopes, age);
    }

    /// <summary>This node's rule for a scope, in the shape the password fields show.</summary>
    public async Task<AccountPasswordRule> RuleAsync(PasswordScope scope, CancellationToken ct = default)
    {
        var policy = await GetAsync(ct);
        return new AccountPasswordRule(PasswordScopes.Key(scope), PasswordScopes.Describe(scope), policy.Node, false, await RequiredAsync(scope, ct));
    }

    /// <summary>The minimum strength this node requires for a scope.</summary>
    public async Task<int> RequiredAsync(PasswordScope scope, CancellationToken ct = default) =>
        (await GetAsync(ct)).Scopes.Single(s => s.Scope == PasswordScopes.Key(scope)).MinimumStrength;

    /// <summary>Measures a password against this node's rule for the scope. User inputs (names, addresses) count as guessable.</summary>
    public async Task<PasswordVerdict> EvaluateAsync(PasswordScope scope, string? password, IEnumerable<string?>? userInputs = null, CancellationToken ct = default)
    {
        var policy = await GetAsync(ct);
        var required = await RequiredAsync(scope, ct);
        var what = PasswordScopes.Describe(scope).ToLowerInvariant();
        if (string.IsNullOrEmpty(password))
        {
            return new PasswordVerdict(false, 0, required, policy.Node, scope, "Give a password.", "No password was given.");
        }

        if (password.Length > PasswordStrength.MaxLength)
        {
            return new PasswordVerdict(false, 0, required, policy.Node, scope, $"A password may be at most {PasswordStrength.MaxLength} characters long.", "The password was too long.");
        }

        var estimate = PasswordStrength.Estimate(password, userInputs);
        if (estimate.Strength >= required)
        {
            return new PasswordVerdict(true, estimate.Strength, required, policy.Node, scope, null);
        }

        var parts = estimate.WeakParts.Count > 0 ? $" It is easy to guess because it contains {string.Join(", ", estimate.WeakParts.Take(4))}." : "";
        var problem = $"The password is too weak for the rule of node {policy.Node} for {what}: its strength is {estimate.Strength}, " +
            $"and node {policy.Node} requires at least {required} (of {PasswordStrength.Max}).{parts} " +
            "Use a passphrase of four or more unrelated words, or a generated password.";
        return new PasswordVerdict(false, estimate.Strength, required, policy.Node, scope, problem, PasswordRefusal.TooWeak(policy.Node, what, required));
    }

    /// <summary>The refusal for a weak password, or nothing: for services that collect all problems of a request (not for the audit: see <see cref="PasswordVerdict.AuditProblem"/>).</summary>
    public async Task<string?> ProblemAsync(PasswordScope scope, string? password, IEnumerable<string?>? userInputs = null, CancellationToken ct = default) =>
        (await EvaluateAsync(scope, password, userInputs, ct)).Problem;

    public async Task<PasswordPolicyView> SaveAsync(Actor actor, PasswordPolicyChange change, CancellationToken ct = default)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "password-policy.change", null, AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins can change the password rules of a node.");
        }

        var problems = new List<string>();
        if (change.DefaultStrength is < 0 or > PasswordStrength.Max)
        {
            problems.Add($"The default minimum strength must be between 0 and {PasswordStrength.Max}.");
        }

        var scopes = new Dictionary<PasswordScope, int?>();
        foreach (var (key, value) in change.Scopes ?? new Dictionary<string, int?>())
        {
            if (PasswordScopes.Parse(key) is not { } scope)
            {
                problems.Add($"\"{key}\" is not a password scope; use one of: {string.Join(", ", PasswordScopes.All.Select(PasswordScopes.Key))}.");
            }
            else if (value is < 0 or > PasswordStrength.Max)
            {
                problems.Add($"The minimum strength for {PasswordScopes.Describe(scope).ToLowerInvariant()} must be between 0 and {PasswordStrength.Max}, or empty to follow the default.");
            }
            else
            {
                scopes[scope] = value;
            }
        }

        if (change.MaxPasswordAgeDays is < 0 or > MaxPasswordAgeLimitDays)
        {
            problems.Add($"The password age must be between 0 (no limit) and {MaxPasswordAgeLimitDays} days.");
        }

        if (problems.Count > 0)
        {
            await audit.RecordAsync(actor, "password-policy.change", null, AuditOutcome.Refused, string.Join(" ", problems), ct);
            throw new PortalValidationException("The password rules were not changed: " + string.Join(" ", problems), problems, "password_policy.invalid");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (change.DefaultStrength is { } fallback)
        {
            await UpsertAsync(db, PasswordPolicy.DefaultScope, fallback, ct);
        }

        foreach (var (scope, value) in scopes)
        {
            var key = PasswordScopes.Key(scope);
            if (value is { } minimum)
            {
                await UpsertAsync(db, key, minimum, ct);
            }
            else
            {
                db.PasswordPolicies.RemoveRange(db.PasswordPolicies.Where(p => p.Scope == key));
            }
        }

        if (change.MaxPasswordAgeDays is { } days)
        {
            var row = await db.PasswordSettings.SingleOrDefaultAsync(ct);
            if (row is null)
            {
                db.PasswordSettings.Add(row = new PasswordSettings());
            }

            row.MaxPasswordAgeDays = days;
            row.UpdatedAt = clock.GetUtcNow();
        }

        await db.SaveChangesAsync(ct);
        _cached = null;
        var saved = await GetAsync(ct);
        await audit.RecordAsync(actor, "password-policy.change", saved.Node, AuditOutcome.Succeeded,
            $"Default {saved.DefaultStrength}; " + string.Join(", ", saved.Scopes.Select(s => $"{s.Scope} {s.MinimumStrength}")) + $"; password age {saved.MaxPasswordAgeDays} days", ct);
        return saved;
    }

    /// <summary>Whether a sign-in password set at <paramref name="changedAt"/> is past this node's password age.</summary>
    public async Task<bool> IsExpiredAsync(DateTimeOffset? changedAt, CancellationToken ct = default)
    {
        var days = (await GetAsync(ct)).MaxPasswordAgeDays;
        return days > 0 && (changedAt is null || clock.GetUtcNow() - changedAt.Value > TimeSpan.FromDays(days));
    }

    private static async Task UpsertAsync(PortalDbContext db, string scope, int minimum, CancellationToken ct)
    {
        var row = await db.PasswordPolicies.SingleOrDefaultAsync(p => p.Scope == scope, ct);
        if (row is null)
        {
            db.PasswordPolicies.Add(new PasswordPolicy { Scope = scope, MinimumStrength = minimum });
        }
        else
        {
            row.MinimumStrength = minimum;
        }
    }
}
