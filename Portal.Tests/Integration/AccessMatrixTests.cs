namespace Portal.Tests.Integration;

/// <summary>
/// The API's access matrix over real HTTP: what an admin, a reseller and an account owner may call, and that
/// another's objects are answered 404 (never their data, never a hint that they exist) or 403 for a whole area.
/// </summary>
[Collection(AccountsCollection.Name)]
public sealed class AccessMatrixTests(AccountsFixture nodes)
{
    // The cast is made once for all rows (xunit makes an instance per row); the fixture's nodes live for the collection.
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Cast? _cast;

    private sealed record Cast(PortalApi Reseller, PortalApi Owner, string Own, string Foreign);

    public static TheoryData<string, string, HttpStatusCode, HttpStatusCode, HttpStatusCode> Matrix => new()
    {
        // method, path ({own}: the reseller's account, which the owner owns; {foreign}: another reseller's), admin, reseller, owner
        { "GET", "api/v1/users", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "GET", "api/v1/linked-nodes", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "GET", "api/v1/scheduled-deletions", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "GET", "api/v1/mail-nodes", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "PUT", "api/v1/password-policy", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "PUT", "api/v1/accounts/{own}/mail-node", HttpStatusCode.BadRequest, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "GET", "api/v1/accounts", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden },
        { "GET", "api/v1/accounts/{own}", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden },
        { "GET", "api/v1/accounts/{foreign}", HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.Forbidden },
        { "GET", "api/v1/accounts/{foreign}/zone", HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.Forbidden },
        { "GET", "api/v1/accounts/{own}/mail/addresses", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK },
        { "GET", "api/v1/accounts/{foreign}/mail/addresses", HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound },
        { "GET", "api/v1/accounts/{foreign}/mail/forwarders", HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound },
        { "DELETE", "api/v1/accounts/{foreign}/mail/addresses/info@{foreign}.example.test", HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound },
        { "DELETE", "api/v1/accounts/{foreign}/mail/forwarders/1", HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound },
        { "GET", "api/v1/accounts/{own}/password-rules", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK },
        { "GET", "api/v1/accounts/{foreign}/password-rules", HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound },
        { "GET", "api/v1/password-policy", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK },
        { "GET", "api/v1/me", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK },
        // AutoSSL is the admins' (off on these nodes: a run does nothing, and no account has a certificate).
        { "GET", "api/v1/ssl/certificates", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "GET", "api/v1/ssl/certificates/{own}/chain", HttpStatusCode.NotFound, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
        { "POST", "api/v1/ssl/run", HttpStatusCode.Accepted, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task EachRole_GetsWhatTheMatrixSays(string method, string path, HttpStatusCode admin, HttpStatusCode reseller, HttpStatusCode owner)
    {
        var cast = await CastAsync();
        var resolved = path.Replace("{own}", cast.Own, StringComparison.Ordinal).Replace("{foreign}", cast.Foreign, StringComparison.Ordinal);
        // An empty body: the refusals come before any reading of it, and the admin's PUTs change nothing.
        object? body = method is "PUT" or "POST" ? new { } : null;

        var answers = new List<(string Role, HttpStatusCode Expected, ApiResponse Actual)>();
        foreach (var (role, api, expected) in new[] { ("admin", nodes.Parent.Api, admin), ("reseller", cast.Reseller, reseller), ("owner", cast.Owner, owner) })
        {
            answers.Add((role, expected, await api.SendAsync(new HttpMethod(method), resolved, body)));
        }

        Assert.All(answers, a => Assert.True(a.Expected == a.Actual.Status, $"{a.Role}: {method} {resolved} gave {(int)a.Actual.Status} ({a.Actual.Text}), expected {(int)a.Expected}"));
        // A refusal says why in the API's error shape; a 404 about another's account never echoes its data.
        Assert.All(answers.Where(a => a.Actual.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound), a => Assert.False(string.IsNullOrEmpty(a.Actual.Code), $"{a.Role}: no error code in {a.Actual.Text}"));
    }

    private async Task<Cast> CastAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _cast ??= await CreateCastAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    private async Task<Cast> CreateCastAsync()
    {
        var (_, reseller) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var (_, other) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var own = AccountsFixture.NewName("mxo");
        var foreign = AccountsFixture.NewName("mxf");
        (await nodes.CreateAccountAsync(reseller, own)).Expect(HttpStatusCode.Created);
        using (other)
        {
            (await nodes.CreateAccountAsync(other, foreign)).Expect(HttpStatusCode.Created);
        }

        return new Cast(reseller, await AccountsFixture.OwnerApiAsync(nodes.Parent, own), own, foreign);
    }
}
