using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Portal.Jobs.Tls;

/// <summary>
/// Where an ACME client puts the TXT records of DNS-01 challenges: for Portal, the zones of the parent's DNS server
/// (the guide's DNS DCV). <see cref="PublishAsync"/> returns once the authoritative server answers the record.
/// </summary>
public interface IDnsChallengeZone
{
    /// <param name="name">The record's full name, <c>_acme-challenge.&lt;name&gt;</c>, without the final dot.</param>
    Task PublishAsync(string name, string value, CancellationToken ct);

    Task RemoveAsync(string name, string value, CancellationToken ct);
}

/// <summary>A certificate an ACME server issued, with the key it was made for (both PEM).</summary>
public sealed record IssuedCertificate(string ChainPem, string PrivateKeyPem, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter, IReadOnlyList<string> Names);

/// <summary>An ACME server's refusal (RFC 8555 section 6.7): its error type, what it said, and for which name.</summary>
public sealed class AcmeException(string type, string detail, string? name = null)
    : Exception(name is null ? $"The certificate authority refused: {detail} ({type})" : $"The certificate authority refused {name}: {detail} ({type})")
{
    public string Type { get; } = type;

    public string Detail { get; } = detail;

    public string? Name { get; } = name;
}

/// <summary>What <see cref="AcmeClient.IssueAsync"/> is doing, for an operation's progress.</summary>
public sealed record AcmeProgress(string Step, int Done, int Total);

/// <summary>
/// An ACME client (RFC 8555) for DNS-01 only: an account key (ECDSA P-256, ES256), an order for a set of names, their
/// DNS-01 challenges published through an <see cref="IDnsChallengeZone"/> and removed afterwards whatever happened, a
/// new key per certificate and its CSR, and the chain as the server gives it. Every request is a JWS, reads are
/// POST-as-GET, and a badNonce refusal is tried again with a fresh nonce (Pebble refuses 5% of good nonces on
/// purpose). Written here rather than driving lego or certbot: see docs/adr/0003-acme-client.md.
/// </summary>
public sealed class AcmeClient(HttpClient http, Uri directoryUrl, ECDsa accountKey, ILogger<AcmeClient> logger)
{
    /// <summary>How long the server may take to check the challenges, and then to issue.</summary>
    public TimeSpan ValidationTimeout { get; init; } = TimeSpan.FromMinutes(3);

    private const int BadNonceRetries = 5;
    private JsonObject? _directory;
    private string? _nonce;
    private string? _accountUrl;

    /// <summary>Makes a new ACME account key (PKCS#8 PEM), to be kept by the caller as a secret.</summary>
    public static string NewAccountKeyPem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>
    /// Registers the account key with the server, or finds the account it already has (the same key always gives the
    /// same account). Returns the account's URL.
    /// </summary>
    public async Task<string> RegisterAsync(string? contactEmail, CancellationToken ct)
    {
        if (_accountUrl is not null)
        {
            return _accountUrl;
        }

        var payload = new JsonObject { ["termsOfServiceAgreed"] = true };
        if (!string.IsNullOrEmpty(contactEmail))
        {
            payload["contact"] = new JsonArray("mailto:" + contactEmail);
        }

        using var response = await PostAsync(await DirectoryUrlAsync("newAccount", ct), payload, ct, useJwk: true);
        _accountUrl = response.Headers.Location?.ToString() ?? throw new AcmeException("malformed", "the server named no account URL");
        logger.LogInformation("ACME account {Account} at {Directory}", _accountUrl, directoryUrl);
        return _accountUrl;
    }

    /// <summary>
    /// Orders a certificate for <paramref name="names"/> (the first is its subject), answers each name's DNS-01
    /// challenge through <paramref name="zone"/>, and returns the certificate with its new key.
    /// </summary>
    public async Task<IssuedCertificate> IssueAsync(IReadOnlyList<string> names, IDnsChallengeZone zone, IProgress<AcmeProgress>? progress, CancellationToken ct)
    {
        if (names.Count == 0)
        {
            throw new ArgumentException("A certificate needs at least one name.", nameof(names));
        }

        await RegisterAsync(null, ct);
        var identifiers = new JsonArray(names.Select(n => (JsonNode)new JsonObject { ["type"] = "dns", ["value"] = n }).ToArray());
        using var ordered = await PostAsync(await DirectoryUrlAsync("newOrder", ct), new JsonObject { ["identifiers"] = identifiers }, ct);
        var orderUrl = ordered.Headers.Location?.ToString() ?? throw new AcmeException("malformed", "the server named no order URL");
        var order = await ReadJsonAsync(ordered, ct);
        var authorizations = order["authorizations"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();

        var published = new List<(string Name, string Value)>();
        try
        {
            // Every challenge's record first, then each challenge answered: the server may check them at once.
            var pending = new List<(string AuthorizationUrl, string ChallengeUrl, string Name)>();
            foreach (var url in authorizations)
            {
                var authorization = await PostAsGetJsonAsync(url, ct);
                var name = authorization["identifier"]!["value"]!.GetValue<string>();
                // The server names what to prove, and a record is published for it: only a name that was ordered.
                if (!names.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    throw new AcmeException("malformed", $"the server asked to prove {name}, which was not ordered; nothing was published for it");
                }

                if (authorization["status"]!.GetValue<string>() == "valid")
                {
                    continue;
                }

                var challenge = authorization["challenges"]!.AsArray().FirstOrDefault(c => c!["type"]!.GetValue<string>() == "dns-01")
                    ?? throw new AcmeException("unsupportedChallenge", "no DNS-01 challenge was offered", name);
                var record = "_acme-challenge." + name.TrimStart('*', '.');
                var value = DnsTxtValue(challenge["token"]!.GetValue<string>());
                progress?.Report(new AcmeProgress($"Publishing the DNS-01 record of {name}", published.Count, authorizations.Count));
                await zone.PublishAsync(record, value, ct);
                published.Add((record, value));
                pending.Add((url, challenge["url"]!.GetValue<string>(), name));
            }

            foreach (var (_, challengeUrl, _) in pending)
            {
                using var answered = await PostAsync(challengeUrl, new JsonObject(), ct);
            }

            var done = authorizations.Count - pending.Count;
            foreach (var (authorizationUrl, _, name) in pending)
            {
                progress?.Report(new AcmeProgress($"The certificate authority checks {name}", done, authorizations.Count));
                var authorization = await PollAsync(authorizationUrl, s => s is "valid" or "invalid", ct);
                if (authorization["status"]!.GetValue<string>() != "valid")
                {
                    var problem = authorization["challenges"]!.AsArray().Select(c => c!["error"]).FirstOrDefault(e => e is not null);
                    throw new AcmeException(problem?["type"]?.GetValue<string>() ?? "unauthorized", problem?["detail"]?.GetValue<string>() ?? "the DNS-01 challenge failed", name);
                }

                done++;
            }
        }
        finally
        {
            foreach (var (name, value) in published)
            {
                try
                {
                    await zone.RemoveAsync(name, value, CancellationToken.None);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    logger.LogWarning("The DNS-01 record {Name} could not be removed: {Error}", name, ex.Message);
                }
            }
        }

        progress?.Report(new AcmeProgress("Asking for the certificate", authorizations.Count, authorizations.Count));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using (var finalized = await PostAsync(order["finalize"]!.GetValue<string>(), new JsonObject { ["csr"] = Base64Url(Csr(names, key)) }, ct))
        {
        }

        order = await PollAsync(orderUrl, s => s is "valid" or "invalid", ct);
        if (order["status"]!.GetValue<string>() != "valid")
        {
            throw new AcmeException(order["error"]?["type"]?.GetValue<string>() ?? "orderNotReady", order["error"]?["detail"]?.GetValue<string>() ?? "the order was not completed");
        }

        using var certificate = await PostAsync(order["certificate"]!.GetValue<string>(), null, ct, accept: "application/pem-certificate-chain");
        var chain = await certificate.Content.ReadAsStringAsync(ct);
        using var leaf = X509Certificate2.CreateFromPem(chain);
        return new IssuedCertificate(chain, key.ExportPkcs8PrivateKeyPem(), leaf.Issuer, leaf.NotBefore.ToUniversalTime(), leaf.NotAfter.ToUniversalTime(), names.ToArray());
    }

    /// <summary>The TXT value of a DNS-01 challenge (RFC 8555 section 8.4): the key authorization's SHA-256, base64url.</summary>
    public string DnsTxtValue(string token) =>
        Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(token + "." + Thumbprint())));

    /// <summary>A CSR for the names (the first is the subject) signed by the certificate's key.</summary>
    private static byte[] Csr(IReadOnlyList<string> names, ECDsa key)
    {
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + names[0]), key, HashAlgorithmName.SHA256);
        var alternatives = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            alternatives.AddDnsName(name);
        }

        request.CertificateExtensions.Add(alternatives.Build());
        return request.CreateSigningRequest();
    }

    private async Task<JsonObject> PollAsync(string url, Func<string, bool> finished, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + ValidationTimeout;
        while (true)
        {
            using var response = await PostAsync(url, null, ct);
            var body = await ReadJsonAsync(response, ct);
            var status = body["status"]?.GetValue<string>() ?? "";
            if (finished(status))
            {
                return body;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The certificate authority had not finished within {ValidationTimeout.TotalMinutes:0} min (still {status}).");
            }

            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            await Task.Delay(wait < TimeSpan.FromMilliseconds(200) ? TimeSpan.FromMilliseconds(200) : wait > TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(10) : wait, ct);
        }
    }

    private async Task<JsonObject> PostAsGetJsonAsync(string url, CancellationToken ct)
    {
        using var response = await PostAsync(url, null, ct);
        return await ReadJsonAsync(response, ct);
    }

    /// <summary>A signed request: <paramref name="payload"/> null is POST-as-GET (an empty payload).</summary>
    private async Task<HttpResponseMessage> PostAsync(string url, JsonObject? payload, CancellationToken ct, bool useJwk = false, string? accept = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var nonce = _nonce ?? await NewNonceAsync(ct);
            _nonce = null;
            var header = new JsonObject { ["alg"] = "ES256", ["nonce"] = nonce, ["url"] = url };
            if (useJwk)
            {
                header["jwk"] = Jwk();
            }
            else
            {
                header["kid"] = _accountUrl ?? throw new InvalidOperationException("The ACME account is not registered yet.");
            }

            var protectedPart = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString()));
            var payloadPart = payload is null ? "" : Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
            var signature = Base64Url(accountKey.SignData(Encoding.ASCII.GetBytes(protectedPart + "." + payloadPart), HashAlgorithmName.SHA256));
            var body = new JsonObject { ["protected"] = protectedPart, ["payload"] = payloadPart, ["signature"] = signature };
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/jose+json");
            if (accept is not null)
            {
                request.Headers.Accept.ParseAdd(accept);
            }

            var response = await http.SendAsync(request, ct);
            if (response.Headers.TryGetValues("Replay-Nonce", out var nonces))
            {
                _nonce = nonces.FirstOrDefault();
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            using (response)
            {
                var (type, detail) = await ProblemAsync(response, ct);
                if (type.EndsWith(":badNonce", StringComparison.Ordinal) && attempt < BadNonceRetries)
                {
                    continue;
                }

                throw new AcmeException(type, detail);
            }
        }
    }

    private static async Task<(string Type, string Detail)> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            var problem = JsonNode.Parse(text);
            var type = problem?["type"]?.GetValue<string>();
            if (type is not null)
            {
                var detail = problem?["detail"]?.GetValue<string>() ?? "";
                var sub = problem?["subproblems"]?.AsArray().Select(s => s?["detail"]?.GetValue<string>()).Where(d => d is not null).ToList();
                return (type, sub is { Count: > 0 } ? $"{detail} ({string.Join("; ", sub)})" : detail);
            }
        }
        catch (JsonException)
        {
        }

        return ("serverInternal", $"HTTP {(int)response.StatusCode}: {(text.Length > 300 ? text[..300] : text)}");
    }

    private async Task<string> NewNonceAsync(CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, await DirectoryUrlAsync("newNonce", ct));
        using var response = await http.SendAsync(request, ct);
        return response.Headers.TryGetValues("Replay-Nonce", out var nonces) ? nonces.First()
            : throw new AcmeException("badNonce", $"the server gave no nonce (HTTP {(int)response.StatusCode})");
    }

    private async Task<string> DirectoryUrlAsync(string resource, CancellationToken ct)
    {
        if (_directory is null)
        {
            using var response = await http.GetAsync(directoryUrl, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new AcmeException("serverInternal", $"the ACME directory {directoryUrl} answered HTTP {(int)response.StatusCode}");
            }

            _directory = await ReadJsonAsync(response, ct);
        }

        return _directory[resource]?.GetValue<string>() ?? throw new AcmeException("malformed", $"the ACME directory {directoryUrl} names no {resource}");
    }

    private static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync(ct)) as JsonObject ?? throw new AcmeException("malformed", "the server answered something that is not a JSON object");

    /// <summary>The account key's public JWK, its members in the order RFC 7638 hashes them.</summary>
    private JsonObject Jwk()
    {
        var p = accountKey.ExportParameters(false);
        return new JsonObject { ["crv"] = "P-256", ["kty"] = "EC", ["x"] = Base64Url(p.Q.X!), ["y"] = Base64Url(p.Q.Y!) };
    }

    private string Thumbprint() => Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(Jwk().ToJsonString())));

    public static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
