using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Authentication;
using System.Text.Json.Serialization;

namespace Portal.Jobs.Nodes;

/// <summary>Where a node is and the credentials the parent holds for it. The token never goes in a URL or a log.</summary>
public sealed record NodeEndpoint(Uri BaseUrl, string AdminUserName, string Token, bool VerifyTls)
{
    public override string ToString() => $"{BaseUrl} as {AdminUserName}";
}

/// <summary>
/// Calls one child's node API. Every failure becomes a <see cref="NodeApiException"/> whose message names the node
/// and says what to do.
/// </summary>
public sealed class NodeApiClient(HttpClient http, NodeEndpoint endpoint, TimeSpan? timeout = null)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public NodeEndpoint Endpoint => endpoint;

    /// <summary>The user on this node the calls are made for (sent as <see cref="NodeApiHeaders.OnBehalfOf"/>), if any.</summary>
    public string? OnBehalfOf { get; set; }

    public Task<NodeInfo> GetInfoAsync(CancellationToken cancellationToken) =>
        SendAsync<NodeInfo>(HttpMethod.Get, "node-api/v1/info", null, cancellationToken);

    public Task<NodeInfo> LinkParentAsync(LinkParentRequest request, CancellationToken cancellationToken) =>
        SendAsync<NodeInfo>(HttpMethod.Post, "node-api/v1/parent", request, cancellationToken);

    public Task<NodeInfo> UnlinkParentAsync(UnlinkParentRequest request, CancellationToken cancellationToken) =>
        SendAsync<NodeInfo>(HttpMethod.Post, "node-api/v1/parent/unlink", request, cancellationToken);

    public Task<NodeHealthReport> GetHealthAsync(CancellationToken cancellationToken) =>
        SendAsync<NodeHealthReport>(HttpMethod.Get, "node-api/v1/health", null, cancellationToken);

    public Task<AccountExistence> CheckAccountAsync(string username, string domain, CancellationToken cancellationToken) =>
        SendAsync<AccountExistence>(HttpMethod.Get, $"node-api/v1/accounts/existence?username={Uri.EscapeDataString(username)}&domain={Uri.EscapeDataString(domain)}", null, cancellationToken);

    public Task<AccountTwin> CreateAccountTwinAsync(AccountTwin twin, CancellationToken cancellationToken) =>
        SendAsync<AccountTwin>(HttpMethod.Post, "node-api/v1/accounts", twin, cancellationToken);

    public Task<AccountTwin> UpdateAccountTwinAsync(AccountTwin twin, CancellationToken cancellationToken) =>
        SendAsync<AccountTwin>(HttpMethod.Put, $"node-api/v1/accounts/{Uri.EscapeDataString(twin.Username)}", twin, cancellationToken);

    public Task<AccountTwin> RenameAccountTwinAsync(string username, string newUsername, CancellationToken cancellationToken) =>
        SendAsync<AccountTwin>(HttpMethod.Post, $"node-api/v1/accounts/{Uri.EscapeDataString(username)}/rename", new TwinRename(newUsername), cancellationToken);

    public Task<AccountTwin> ChangeAccountTwinDomainAsync(string username, string newDomain, CancellationToken cancellationToken) =>
        SendAsync<AccountTwin>(HttpMethod.Post, $"node-api/v1/accounts/{Uri.EscapeDataString(username)}/domain", new TwinDomainChange(newDomain), cancellationToken);

    public Task<AccountTwin?> GetAccountTwinAsync(string username, CancellationToken cancellationToken) =>
        SendOptionalAsync<AccountTwin>(HttpMethod.Get, $"node-api/v1/accounts/{Uri.EscapeDataString(username)}", cancellationToken);

    /// <summary>Removes the account's twin and its mail from the node, if it is there (a repeat finds nothing to do).</summary>
    public async Task RemoveAccountTwinWithMailAsync(string username, CancellationToken cancellationToken)
    {
        if (await GetAccountTwinAsync(username, cancellationToken) is not null)
        {
            await DeleteMailDataAsync(username, cancellationToken);
            await DeleteAccountTwinAsync(username, cancellationToken);
        }
    }

    public Task DeleteAccountTwinAsync(string username, CancellationToken cancellationToken) =>
        SendAsync<NodeApiOk>(HttpMethod.Delete, $"node-api/v1/accounts/{Uri.EscapeDataString(username)}", null, cancellationToken);

    // --- mail functions of an account whose mail the node serves ---

    private string MailPath(string username, string rest) => $"node-api/v1/{_accountScope}/{Uri.EscapeDataString(username)}/mail/{rest}";

    /// <summary>"accounts" (a parent's twins, on a child) or "transfers" (a node's own accounts, for another parent).</summary>
    private string _accountScope = "accounts";

    /// <summary>
    /// The same node, addressed as the source of an account transfer: its mail calls (manifest, export) reach its own
    /// accounts instead of a parent's twins.
    /// </summary>
    public NodeApiClient AsTransferSource() => new(http, endpoint, timeout) { _accountScope = "transfers" };

    /// <summary>An account of this node, whole (owner, mail configuration, where its mail lives), for another parent to import.</summary>
    public Task<AccountExport> ExportAccountAsync(string username, CancellationToken ct) =>
        SendAsync<AccountExport>(HttpMethod.Get, $"node-api/v1/transfers/{Uri.EscapeDataString(username)}", null, ct, MaxManifestBytes);

    public Task<List<EmailAccountRow>> ListMailAddressesAsync(string username, CancellationToken ct) =>
        SendAsync<List<EmailAccountRow>>(HttpMethod.Get, MailPath(username, "addresses"), null, ct);

    public Task<MailPage<EmailAccountRow>> PageMailAddressesAsync(string username, MailListQuery query, CancellationToken ct) =>
        SendAsync<MailPage<EmailAccountRow>>(HttpMethod.Get, MailPath(username, "addresses/page" + QueryString(query)), null, ct);

    public Task<MailPage<ForwarderRow>> PageForwardersAsync(string username, MailListQuery query, CancellationToken ct) =>
        SendAsync<MailPage<ForwarderRow>>(HttpMethod.Get, MailPath(username, "forwarders/page" + QueryString(query)), null, ct);

    private static string QueryString(MailListQuery query) =>
        $"?skip={query.Skip}&take={query.Take}" + (query.Search is { Length: > 0 } search ? "&search=" + Uri.EscapeDataString(search) : "");

    public Task<EmailAccountRow> CreateMailAddressAsync(string username, NewEmailAccount request, CancellationToken ct) =>
        SendAsync<EmailAccountRow>(HttpMethod.Post, MailPath(username, "addresses"), request, ct);

    public Task DeleteMailAddressAsync(string username, string address, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Delete, MailPath(username, $"addresses/{Uri.EscapeDataString(address)}"), null, ct);

    public Task ChangeMailPasswordAsync(string username, string address, PasswordChange change, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Put, MailPath(username, $"addresses/{Uri.EscapeDataString(address)}/password"), change, ct);

    public Task ChangeMailQuotaAsync(string username, string address, QuotaChange change, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Put, MailPath(username, $"addresses/{Uri.EscapeDataString(address)}/quota"), change, ct);

    public Task<MailboxSieve> GetMailSieveAsync(string username, string address, CancellationToken ct) =>
        SendAsync<MailboxSieve>(HttpMethod.Get, MailPath(username, $"addresses/{Uri.EscapeDataString(address)}/sieve"), null, ct);

    public Task<MailboxSieve> SetMailSieveAsync(string username, string address, MailboxSieve sieve, CancellationToken ct) =>
        SendAsync<MailboxSieve>(HttpMethod.Put, MailPath(username, $"addresses/{Uri.EscapeDataString(address)}/sieve"), sieve, ct);

    public Task<ForwarderRow> UpdateForwarderAsync(string username, long id, ForwarderChange change, CancellationToken ct) =>
        SendAsync<ForwarderRow>(HttpMethod.Put, MailPath(username, $"forwarders/{id}"), change, ct);

    public Task<List<ForwarderRow>> ListForwardersAsync(string username, CancellationToken ct) =>
        SendAsync<List<ForwarderRow>>(HttpMethod.Get, MailPath(username, "forwarders"), null, ct);

    public Task<ForwarderRow> AddForwarderAsync(string username, NewForwarder request, CancellationToken ct) =>
        SendAsync<ForwarderRow>(HttpMethod.Post, MailPath(username, "forwarders"), request, ct);

    public Task DeleteForwarderAsync(string username, long id, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Delete, MailPath(username, $"forwarders/{id}"), null, ct);

    /// <summary>How much mail the child keeps for each of this parent's accounts it serves.</summary>
    public Task<MailUsageReport> GetMailUsageAsync(CancellationToken ct) =>
        SendAsync<MailUsageReport>(HttpMethod.Get, "node-api/v1/mail-usage", null, ct);

    /// <summary>The node's password rules (a parent shows which node's rule governs an account's email passwords).</summary>
    public Task<PasswordPolicyView> GetPasswordPolicyAsync(CancellationToken ct) =>
        SendAsync<PasswordPolicyView>(HttpMethod.Get, "node-api/v1/password-policy", null, ct);

    public Task<MailConfiguration> ExportMailConfigurationAsync(string username, CancellationToken ct) =>
        SendAsync<MailConfiguration>(HttpMethod.Get, MailPath(username, "configuration"), null, ct);

    public Task ImportMailConfigurationAsync(string username, MailConfigurationImport import, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Put, MailPath(username, "configuration"), import, ct);

    /// <summary>A GET whose 404 means "there is none" rather than an error.</summary>
    private async Task<T?> SendOptionalAsync<T>(HttpMethod method, string path, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await SendAsync<T>(method, path, null, cancellationToken);
        }
        catch (NodeRequestException ex) when (ex.Status == 404 && ex.Code == "not_found")
        {
            return null;
        }
    }

    // --- mail copy ---

    public Task<MailManifest> GetMailManifestAsync(string username, ManifestDetail detail, CancellationToken ct) =>
        SendAsync<MailManifest>(HttpMethod.Get, MailPath(username, detail switch
        {
            ManifestDetail.Hashes => "manifest?hashes=true",
            ManifestDetail.Paths => "manifest?sizes=false",
            _ => "manifest",
        }), null, ct, MaxManifestBytes);

    /// <summary>Sends one batch of message files as a single streamed request.</summary>
    public Task<BatchResult> SendMailBatchAsync(string username, MailBatchContent batch, CancellationToken ct) =>
        PostBatchAsync(username, "batches", batch, ct);

    /// <summary>Passes a batch another node streams (in <see cref="MailBatchFormat"/>) straight on to this node.</summary>
    public Task<BatchResult> SendMailBatchStreamAsync(string username, Stream batch, CancellationToken ct) =>
        PostBatchAsync(username, "batches", new StreamContent(batch, 1024 * 1024), ct);

    /// <summary>The Dovecot state files of the account's mailboxes on this node (UIDs, keywords, subscriptions), with sizes.</summary>
    public Task<MailManifest> GetMailStateAsync(string username, CancellationToken ct) =>
        SendAsync<MailManifest>(HttpMethod.Get, MailPath(username, "state"), null, ct, MaxReplyBytes);

    /// <summary>Sends the account's Dovecot state files (<see cref="MaildirState"/>) as one batch, before a move's switch.</summary>
    public Task<BatchResult> SendMailStateAsync(string username, MailBatchContent batch, CancellationToken ct) =>
        PostBatchAsync(username, "state", batch, ct);

    /// <summary>Passes the state files another node streams straight on to this node.</summary>
    public Task<BatchResult> SendMailStateStreamAsync(string username, Stream batch, CancellationToken ct) =>
        PostBatchAsync(username, "state", new StreamContent(batch, 1024 * 1024), ct);

    /// <summary>Posts content in <see cref="MailBatchFormat"/> to one of the account's mail endpoints.</summary>
    private Task<BatchResult> PostBatchAsync(string username, string endpoint, HttpContent content, CancellationToken ct)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue(MailBatchFormat.MediaType);
        return SendAsync<BatchResult>(HttpMethod.Post, MailPath(username, endpoint), content, ct);
    }

    public Task<ChangesResult> ApplyMailChangesAsync(string username, MailChanges changes, CancellationToken ct) =>
        SendAsync<ChangesResult>(HttpMethod.Post, MailPath(username, "changes"), changes, ct);

    // --- dedistribution: archives, export, redirect, sessions ---

    /// <summary>
    /// Asks the child to archive the account's mail for <paramref name="requestId"/> (the parent's operation); it
    /// answers at once with the archive's id. Asking again for the same request gets the same archive, unless that one
    /// failed or was removed.
    /// </summary>
    public Task<MailArchiveStarted> StartMailArchiveAsync(string username, Guid requestId, CancellationToken ct) =>
        SendAsync<MailArchiveStarted>(HttpMethod.Post, MailPath(username, "archives"), new MailArchiveRequestBody(requestId), ct);

    public Task<MailArchiveStatus> GetMailArchiveAsync(string username, Guid id, CancellationToken ct) =>
        SendAsync<MailArchiveStatus>(HttpMethod.Get, MailPath(username, $"archives/{id:N}"), null, ct);

    public Task<MailArchiveManifest> GetMailArchiveManifestAsync(string username, Guid id, CancellationToken ct) =>
        SendAsync<MailArchiveManifest>(HttpMethod.Get, MailPath(username, $"archives/{id:N}/manifest"), null, ct, MaxManifestBytes);

    public Task DeleteMailArchiveAsync(string username, Guid id, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Delete, MailPath(username, $"archives/{id:N}"), null, ct);

    /// <summary>
    /// Fetches the archive into <paramref name="path"/>, continuing after what an earlier, broken fetch left there
    /// (an HTTP range request); a node that answers with the whole file instead starts it over. No more than
    /// <paramref name="expectedBytes"/> (what the archive's manifest says) is written: a node that sends more is refused.
    /// </summary>
    public async Task DownloadMailArchiveAsync(string username, Guid id, string path, long expectedBytes, Func<long, ValueTask> progress, CancellationToken ct)
    {
        var have = File.Exists(path) ? new FileInfo(path).Length : 0;
        if (have == expectedBytes && expectedBytes > 0)
        {
            // An earlier attempt fetched it all and stopped before it could say so: there is nothing left to ask for
            // (the node would answer 416); the caller checks the SHA-256 of what is here.
            return;
        }

        using var response = await SendRawAsync(HttpMethod.Get, MailPath(username, $"archives/{id:N}/content"), null,
            request => request.Headers.Range = have > 0 ? new RangeHeaderValue(have, null) : null, HttpCompletionOption.ResponseHeadersRead, ct);
        var resumed = response.StatusCode == HttpStatusCode.PartialContent;
        await using var file = new FileStream(path, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1024 * 1024);
        var done = resumed ? have : 0;
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[1024 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            if (done + read > expectedBytes)
            {
                throw new NodeRequestException((int)response.StatusCode, "node.archive_too_long",
                    $"{endpoint.BaseUrl} sent more than the {expectedBytes} bytes its archive's manifest says; the fetch was stopped and nothing was unpacked.");
            }

            await file.WriteAsync(buffer.AsMemory(0, read), ct);
            done += read;
            await progress(done);
        }

        file.Flush(flushToDisk: true);
    }

    /// <summary>Has the node send these files as one streamed batch, which <paramref name="consume"/> reads.</summary>
    public async Task<T> ExportMailAsync<T>(string username, MailExportRequest files, Func<Stream, Task<T>> consume, CancellationToken ct)
    {
        using var response = await SendRawAsync(HttpMethod.Post, MailPath(username, "export"), files, null, HttpCompletionOption.ResponseHeadersRead, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        return await consume(body);
    }

    /// <summary>The child sends the twin's mail on to <paramref name="address"/> (proxy and relay), or serves it again (null).</summary>
    public Task SetMailRedirectAsync(string username, string? address, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Put, MailPath(username, "redirect"), new MailRedirect(address), ct);

    /// <summary>Tells the child when its copy of the account is due for deletion (null: kept, no date).</summary>
    public Task SetKeptUntilAsync(string username, DateTimeOffset? until, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Put, MailPath(username, "kept-until"), new TwinKeptUntil(until), ct);

    public Task<SessionsEnded> EndMailSessionsAsync(string username, CancellationToken ct) =>
        SendAsync<SessionsEnded>(HttpMethod.Post, MailPath(username, "sessions/end"), new { }, ct);

    /// <summary>The duplicate records of the account's mailboxes on the node (<see cref="DovecotDuplicates"/>).</summary>
    public Task<MailDuplicates> GetMailDuplicatesAsync(string username, CancellationToken ct) =>
        SendAsync<MailDuplicates>(HttpMethod.Get, MailPath(username, "duplicates"), null, ct);

    /// <summary>Adds these records to the account's mailboxes' own on the node.</summary>
    public Task<DuplicatesMerged> MergeMailDuplicatesAsync(string username, MailDuplicates duplicates, CancellationToken ct) =>
        SendAsync<DuplicatesMerged>(HttpMethod.Post, MailPath(username, "duplicates"), duplicates, ct);

    /// <summary>Has the node record the Message-IDs of these messages (a final pass brought them) as delivered there.</summary>
    public Task<DuplicatesMerged> MarkMailDeliveredAsync(string username, MailDelivered delivered, CancellationToken ct) =>
        SendAsync<DuplicatesMerged>(HttpMethod.Post, MailPath(username, "duplicates/delivered"), delivered, ct);

    /// <summary>Has the node present this account's certificate for its mail. and webmail. names.</summary>
    public Task PutMailCertificateAsync(string username, MailCertificate certificate, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Put, MailPath(username, "certificate"), certificate, ct);

    /// <summary>Has the node serve its panel with this certificate, issued for the host name it asked for.</summary>
    public Task PutPanelCertificateAsync(MailCertificate certificate, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Put, "node-api/v1/panel/certificate", certificate, ct);

    /// <summary>Removes everything a copy put on the node for this account (a copy abandoned before the switch).</summary>
    public Task DeleteMailDataAsync(string username, CancellationToken ct) =>
        SendAsync<NodeApiOk>(HttpMethod.Delete, MailPath(username, "data"), null, ct);

    /// <summary>The largest JSON answer read from another node (untrusted): a reply; a manifest, which lists every message.</summary>
    public const long MaxReplyBytes = 16L * 1024 * 1024;

    public const long MaxManifestBytes = 1024L * 1024 * 1024;

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken, long maxBytes = MaxReplyBytes)
    {
        using var response = await SendRawAsync(method, path, body, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            if (response.Content.Headers.ContentLength > maxBytes)
            {
                throw new ReplyTooLargeException();
            }

            // The body is read within a time of its own too: a node that sends its headers and then dawdles holds nothing.
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            reading.CancelAfter(maxBytes > MaxReplyBytes ? TimeSpan.FromMinutes(10) : timeout ?? NodeApiResilience.DefaultTimeout);
            await using var stream = new BoundedReadStream(await response.Content.ReadAsStreamAsync(reading.Token), maxBytes);
            return await JsonSerializer.DeserializeAsync<T>(stream, Json, reading.Token)
                ?? throw new JsonException("empty body");
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NodeUnreachableException($"{endpoint.BaseUrl} did not finish its answer in time. Check that the node is up and not overloaded.", ex, timedOut: true);
        }
        catch (JsonException ex)
        {
            throw new NodeRequestException((int)response.StatusCode, "node.bad_response", $"{endpoint.BaseUrl} answered with something that is not Portal's node API ({ex.Message}). Check that the address is a Portal node.");
        }
        catch (ReplyTooLargeException)
        {
            throw new NodeRequestException((int)response.StatusCode, "node.reply_too_large", $"{endpoint.BaseUrl} answered with more than {maxBytes} bytes; Portal reads no more from another node and took nothing of it.");
        }
    }

    private sealed class ReplyTooLargeException : Exception;

    /// <summary>Reads at most a given number of bytes from a stream, and fails (instead of going on) past them.</summary>
    private sealed class BoundedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            _read += read;
            return _read > limit ? throw new ReplyTooLargeException() : read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>Sends a request and returns the successful response (the caller disposes it); failures are thrown.</summary>
    private async Task<HttpResponseMessage> SendRawAsync(
        HttpMethod method, string path, object? body, Action<HttpRequestMessage>? configure, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(endpoint.BaseUrl, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Token);
        request.Headers.Add(NodeApiHeaders.AdminUser, endpoint.AdminUserName);
        if (NodeApiHeaders.IsAcceptableName(OnBehalfOf))
        {
            request.Headers.Add(NodeApiHeaders.OnBehalfOf, OnBehalfOf);
        }

        if (body is HttpContent content)
        {
            request.Content = content;
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        if (timeout is { } limit)
        {
            request.Options.Set(NodeApiResilience.Timeout, limit);
        }

        configure?.Invoke(request);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.InnerException is AuthenticationException)
        {
            throw new NodeUnreachableException(
                $"The TLS certificate of {endpoint.BaseUrl.Host} could not be verified ({ex.InnerException.Message}). Install a certificate that names the host, or link without TLS verification while you fix it.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new NodeUnreachableException($"{endpoint.BaseUrl} cannot be reached ({ex.Message}). Check the address, that Portal runs there, and that this node may connect to it.", ex);
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            throw new NodeUnreachableException($"{endpoint.BaseUrl} did not answer within {ex.Timeout.TotalSeconds:0} s. Check that the node is up and not overloaded.", ex, timedOut: true);
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException ex)
        {
            var wait = ex.RetryAfter is { } after ? $"{Math.Max(1, Math.Ceiling(after.TotalSeconds)):0} s" : "a while";
            throw new NodeCircuitOpenException(
                $"{endpoint.BaseUrl} failed {NodeApiResilience.FailuresToOpen} times in a row; Portal stops asking it for {wait}, then tries once whether it answers again.", ex.RetryAfter, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NodeUnreachableException($"{endpoint.BaseUrl} did not answer within {http.Timeout.TotalSeconds:0} s. Check that the node is up and not overloaded.", ex, timedOut: true);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var error = await ReadErrorAsync(response, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                throw new NodeAuthenticationException(error?.Code ?? "token.invalid", error?.Message ?? $"{endpoint.BaseUrl} refused the API token.");
            }

            if (error is null && response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new NodeRequestException(404, "node.not_portal", $"{endpoint.BaseUrl} has no Portal node API. Check that the address is a Portal node (and its version).");
            }

            throw new NodeRequestException((int)response.StatusCode, error?.Code ?? "node.error", error?.Message ?? $"{endpoint.BaseUrl} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }
    }

    private static async Task<NodeApiError?> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            return response.Content.Headers.ContentType?.MediaType == "application/json"
                ? await response.Content.ReadFromJsonAsync<NodeApiError>(Json, ct)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
