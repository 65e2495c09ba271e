namespace Portal.Jobs.Mail;

/// <summary>
/// The one adapter between Portal and the standard mail servers: it publishes the node's mail state in the files
/// Dovecot and Postfix read, and ends IMAP/POP3 sessions the way Dovecot does (<c>doveadm kick</c>). Files are
/// written to a temporary name and renamed into place, so a server never reads half a file.
/// </summary>
public sealed partial class MailServerAdapter(MailServerAdapterSettings settings, ILogger<MailServerAdapter> logger)
{
    public const string PasswdFile = "dovecot-users";
    public const string ProxyFile = "dovecot-proxy-domains";
    public const string TlsProxyFile = "dovecot-proxy-domains-tls";
    public const string DomainsFile = "postfix-virtual-mailbox-domains";
    public const string MailboxMapFile = "postfix-virtual-mailbox-maps";
    public const string AliasMapFile = "postfix-virtual-alias-maps";
    public const string TransportFile = "postfix-transport";
    public const string RecipientAccessFile = "postfix-recipient-access";
    public const string SubmissionFile = "dovecot-submission-users";
    public const string SenderLoginsFile = "postfix-sender-logins";

    /// <summary>What Dovecot answers a login to a suspended account's mailbox (its extra fields cannot hold spaces).</summary>
    public const string SuspendedLoginReason = "Account_suspended:_contact_your_hosting_provider.";

    /// <summary>
    /// The maps Postfix reads as <c>hash:</c> tables, compiled with postmap after each change, in this order: the
    /// transport map (the relay domains) first, so a domain leaving this node is a relay domain before it stops being a
    /// local one (a domain coming here is bridged: <see cref="BridgeMaps"/>).
    /// </summary>
    public static readonly IReadOnlyList<string> PostfixMaps = [TransportFile, DomainsFile, MailboxMapFile, AliasMapFile, RecipientAccessFile, SenderLoginsFile];

    private readonly SemaphoreSlim _gate = new(1, 1);

    // Set until Postfix took what was written: the first publication after a start, and any after a failure, compiles
    // and reloads even when the files already said the same (a crash may have come between write and apply). Dovecot
    // needs no such thing: it reads its passwd-files again by itself (below).
    private bool _postfixPending = true;

    public string StateDirectory => settings.StateDirectory;

    /// <summary>
    /// Writes the state and makes the servers use it. Once begun, a publication is finished even if the caller gives
    /// up (a request whose client went away, a job stopping): it follows a change already committed to the database,
    /// and a publication cut between writing a map and compiling it left a node relaying a domain the database said
    /// it served (seen in the chaos test: a mail loop between three nodes). The commands are bounded by their timeout.
    /// </summary>
    public async Task PublishAsync(MailState state, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        var ct = CancellationToken.None;
        try
        {
            Directory.CreateDirectory(settings.StateDirectory);
            // The proxy entry before the user goes: a login or delivery in between finds one of the two, never none.
            var dovecotChanged = await WriteAsync(ProxyFile, RenderProxies(state), ct)
                | await WriteAsync(TlsProxyFile, RenderTlsProxies(state), ct)
                | await WriteAsync(PasswdFile, RenderPasswd(state), ct)
                | await WriteAsync(SubmissionFile, RenderSubmitters(state), ct);
            if (dovecotChanged)
            {
                await UntilDovecotReadsAgainAsync(ct);
            }

            var maps = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [TransportFile] = RenderTransport(state),
                [DomainsFile] = RenderDomains(state),
                [MailboxMapFile] = RenderMailboxMap(state),
                [AliasMapFile] = RenderAliases(state),
                [RecipientAccessFile] = RenderRecipientAccess(state),
                [SenderLoginsFile] = RenderSenderLogins(state),
            };
            await BridgeAsync(maps, ct);
            foreach (var map in PostfixMaps)
            {
                // Pending as soon as a file changed: what a failed (or never run, in this process) apply left undone
                // is done by the next publication, even though the files then already say the same.
                _postfixPending |= await WriteAsync(map, maps[map], ct);
            }

            await ApplyAsync(_postfixPending, ct);
            _postfixPending = false;
            await WriteSieveScriptsAsync(state, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The file in a mailbox's home that Dovecot's Sieve runs for each delivery (<c>sieve = file:~/portal.sieve</c>).</summary>
    public const string SieveFile = "portal.sieve";

    // The scripts as last written, by address: only a changed one is written again. Empty after a start, so the first
    // publication checks every file.
    private readonly Dictionary<string, string?> _sieveWritten = new(StringComparer.Ordinal);

    /// <summary>
    /// Makes each mailbox's home (Dovecot does not: its first delivery could not record its Message-ID or whom the
    /// autoresponder answered, "file_dotlock_open ... No such file or directory"), writes the mailbox's Sieve script
    /// there (whole, through a temporary name) and removes the script of a mailbox that has none. Dovecot compiles a
    /// changed script at the next delivery.
    /// </summary>
    private async Task WriteSieveScriptsAsync(MailState state, CancellationToken ct)
    {
        foreach (var user in state.Users)
        {
            if (_sieveWritten.TryGetValue(user.Address, out var written) && written == user.Sieve)
            {
                continue;
            }

            // A home that cannot be written is said and tried again at the next publication; it never fails this one,
            // which follows a change already made (the servers' files above are in place).
            try
            {
                var home = HomeOf(user.Address);
                var path = Path.Combine(home, SieveFile);
                Directory.CreateDirectory(home);
                if (user.Sieve is null)
                {
                    File.Delete(path);
                    File.Delete(Path.ChangeExtension(path, ".svbin"));
                }
                else if (!File.Exists(path) || await File.ReadAllTextAsync(path, ct) != user.Sieve)
                {
                    var tmp = path + ".tmp-" + Environment.ProcessId;
                    await File.WriteAllTextAsync(tmp, user.Sieve, new UTF8Encoding(false), ct);
                    File.Move(tmp, path, overwrite: true);
                }

                _sieveWritten[user.Address] = user.Sieve;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger.LogError("The home of {Address} could not be made or its Sieve script written ({Error}); its autoresponder and filters wait for the next publication", user.Address, ex.Message);
            }
        }

        // Mailboxes that went (deleted, renamed, moved away) are forgotten: one made again under that name is written anew.
        var current = state.Users.Select(u => u.Address).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _sieveWritten.Keys.Where(a => !current.Contains(a)).ToList())
        {
            _sieveWritten.Remove(gone);
        }
    }

    /// <summary>
    /// Dovecot passwd-file of local users:
    /// <c>user:{SHA512-CRYPT}hash:uid:gid::home::userdb_mail=maildir:PATH userdb_quota_rule=*:bytes=N</c>. The home is
    /// not the Maildir: Dovecot keeps files there (the duplicate record <c>.dovecot.lda-dupes</c> and its lock folder),
    /// and in a Maildir every name that starts with a dot is a folder, which every mail client would list.
    /// </summary>
    public string RenderPasswd(MailState state)
    {
        var text = new StringBuilder();
        foreach (var user in state.Users.OrderBy(u => u.Address, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{user.Address}:{user.PasswordHash}:{settings.Uid}:{settings.Gid}::{HomeOf(user.Address)}::userdb_mail=maildir:{user.MaildirPath}");
            if (user.QuotaBytes > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $" userdb_quota_rule=*:bytes={user.QuotaBytes}");
            }

            if (user.LoginRefused)
            {
                // A passdb field: logins fail with this reason, while delivery (a userdb lookup) goes on.
                text.Append(" nologin=y reason=").Append(SuspendedLoginReason);
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// Dovecot passwd-file looked up by domain (<c>username_format=%d</c>): each domain another node serves is proxied
    /// there, and that node checks the password (<c>nopassword=y</c>, with an empty password field). The extra fields
    /// are the eighth (user:password:uid:gid:gecos:home:shell:extra); in the seventh Dovecot took them for the shell
    /// and refused every login, which only a real Dovecot showed.
    /// </summary>
    public static string RenderProxies(MailState state) => RenderProxies(state, "");

    /// <summary>
    /// The same entries for IMAP and POP3 (<see cref="TlsProxyFile"/>): the mail client's session goes on to the other
    /// node in STARTTLS, so its password never crosses the network in clear. The other node's certificate is not
    /// checked (<c>any-cert</c>): it is the node's own or an AutoSSL one for a name, never one for the address the
    /// proxy connects to. LMTP keeps the plain entries: a child's delivery service offers no TLS.
    /// </summary>
    public static string RenderTlsProxies(MailState state) => RenderProxies(state, " starttls=any-cert");

    private static string RenderProxies(MailState state, string extra) =>
        string.Concat(state.Routes.OrderBy(r => r.Domain, StringComparer.Ordinal)
            .Select(r => $"{r.Domain}:::::::proxy=y host={r.NodeAddress} nopassword=y{extra}\n"));

    /// <summary>
    /// A mailbox's home for Dovecot, beside the published state (<c>home/</c> there, which Dovecot's mail uid may
    /// write: <c>scripts/mail-servers</c> makes it); Dovecot creates each one when it first needs it.
    /// </summary>
    public string HomeOf(string address) => Path.Combine(settings.StateDirectory, HomesFolder, address);

    public const string HomesFolder = "home";

    /// <summary>
    /// Renames the homes of a domain's mailboxes (<c>local@old</c> to <c>local@new</c>) when the domain changes, so their
    /// duplicate records and Sieve state stay theirs. A home already there for the new name is left as it is.
    /// </summary>
    public int RenameHomes(string oldDomain, string newDomain)
    {
        if (!MailRules.IsDomain(oldDomain) || !MailRules.IsDomain(newDomain))
        {
            throw new UnsafeMailPathException($"\"{MailRules.Printable(oldDomain)}\" or \"{MailRules.Printable(newDomain)}\" is not a domain Portal accepts; no mailbox home was touched.");
        }

        var homes = new DirectoryInfo(Path.Combine(settings.StateDirectory, HomesFolder));
        if (!homes.Exists)
        {
            return 0;
        }

        var renamed = 0;
        foreach (var home in homes.EnumerateDirectories("*@" + oldDomain))
        {
            var at = home.Name.LastIndexOf('@');
            var local = home.Name[..Math.Max(at, 0)];
            if (at <= 0 || !string.Equals(home.Name[(at + 1)..], oldDomain, StringComparison.Ordinal) || !MailRules.IsLocalPart(local) || home.LinkTarget is not null)
            {
                continue;
            }

            var target = Path.Combine(homes.FullName, $"{local}@{newDomain}");
            if (!Directory.Exists(target))
            {
                home.MoveTo(target);
                renamed++;
            }
        }

        return renamed;
    }

    /// <summary>
    /// Deletes the homes of a domain's mailboxes (their duplicate records, Sieve state): after its account is gone.
    /// Only folders named <c>local@domain</c> directly inside the homes folder are touched. Returns how many went.
    /// </summary>
    public int DiscardHomesOf(string domain)
    {
        if (!MailRules.IsDomain(domain))
        {
            throw new UnsafeMailPathException($"\"{MailRules.Printable(domain)}\" is not a domain Portal accepts; no mailbox home was touched.");
        }

        var homes = new DirectoryInfo(Path.Combine(settings.StateDirectory, HomesFolder));
        if (!homes.Exists)
        {
            return 0;
        }

        var root = homes.FullName.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var removed = 0;
        foreach (var home in homes.EnumerateDirectories("*@" + domain))
        {
            var at = home.Name.LastIndexOf('@');
            if (at <= 0 || !string.Equals(home.Name[(at + 1)..], domain, StringComparison.Ordinal) || !MailRules.IsLocalPart(home.Name[..at])
                || !Path.GetFullPath(home.FullName).StartsWith(root, StringComparison.Ordinal) || home.LinkTarget is not null)
            {
                continue;
            }

            home.Delete(recursive: true);
            removed++;
        }

        return removed;
    }

    /// <summary>The duplicate records of these addresses' mailboxes here (a mailbox without one is left out).</summary>
    public MailDuplicates ReadDuplicates(string domain, IEnumerable<string> localParts) =>
        new(localParts.Select(local => (local, Record: DovecotDuplicates.Read(HomeOf($"{local}@{domain}"))))
            .Where(r => r.Record is { Length: > 0 })
            .Select(r => new MailboxDuplicates(r.local, r.Record!)).ToList());

    /// <summary>
    /// Adds another node's duplicate records to these mailboxes' own. They came from another node: a mailbox that is
    /// not the account's, or a record not in Dovecot's format, refuses the whole request before anything is written.
    /// </summary>
    public async Task<DuplicatesMerged> MergeDuplicatesAsync(string domain, IReadOnlySet<string> localParts, MailDuplicates duplicates, DateTimeOffset now, CancellationToken ct)
    {
        var parsed = new List<(string Address, IReadOnlyList<DovecotDuplicates.Entry> Entries)>();
        foreach (var mailbox in duplicates.Mailboxes ?? [])
        {
            var local = RequireMailbox(mailbox?.LocalPart, domain, localParts);
            var (entries, problem) = DovecotDuplicates.Parse(mailbox!.Record ?? []);
            if (problem is not null)
            {
                throw new UntrustedDataException($"{local}@{domain}: {problem}");
            }

            parsed.Add(($"{local}@{domain}", entries));
        }

        var total = 0;
        foreach (var (address, entries) in parsed)
        {
            total += await DovecotDuplicates.MergeIntoAsync(HomeOf(address), entries, now, ct);
        }

        return new DuplicatesMerged(parsed.Count, total);
    }

    /// <summary>Another node named this mailbox: it must be one of the account's here.</summary>
    private static string RequireMailbox(string? localPart, string domain, IReadOnlySet<string> localParts) =>
        localPart is { } local && localParts.Contains(local)
            ? local
            : throw new UntrustedDataException($"{localPart}@{domain} is not a mailbox of this account here.");

    /// <summary>The most messages one request may name: a final pass brings what arrived during a move.</summary>
    public const int MaxDeliveredFiles = 20_000;

    /// <summary>
    /// Records the Message-IDs of messages a move brought here as delivered to their mailboxes when their names say,
    /// as Sieve's duplicate test would have: a message the old node saved without confirming it (its Dovecot stopped
    /// in the middle) has no entry there, and Postfix's second try, which now comes here, is then kept out. Entries
    /// whose day has passed are not written. The names came from another node: checked before anything is read.
    /// </summary>
    public async Task<DuplicatesMerged> MarkDeliveredAsync(string mailRoot, string domain, IReadOnlySet<string> localParts, MailDelivered delivered, DateTimeOffset now, CancellationToken ct)
    {
        var files = delivered.Files ?? [];
        if (files.Count > MaxDeliveredFiles)
        {
            throw new UntrustedDataException($"{files.Count} messages in one request; at most {MaxDeliveredFiles} are taken.");
        }

        foreach (var file in files)
        {
            RequireMailbox(file?.LocalPart, domain, localParts);
            if (!Maildir.IsSafeRelativePath(file!.Path))
            {
                throw new UntrustedDataException($"{file.Path} is not a message path inside a mailbox.");
            }
        }

        var total = 0;
        var mailboxes = 0;
        foreach (var mailbox in files.GroupBy(f => f.LocalPart, StringComparer.Ordinal))
        {
            var address = $"{mailbox.Key}@{domain}";
            var root = Maildir.MailboxPath(mailRoot, domain, mailbox.Key);
            var entries = mailbox.Where(f => DovecotDuplicates.MaySendAgain(f.Path, now))
                .Select(f => DovecotDuplicates.MessageIdOf(Path.Combine(root, f.Path)) is { } id ? DovecotDuplicates.Delivered(id, address, DovecotDuplicates.DeliveredAt(f.Path, now)) : null)
                .OfType<DovecotDuplicates.Entry>().ToList();
            if (entries.Count > 0)
            {
                total += await DovecotDuplicates.MergeIntoAsync(HomeOf(address), entries, now, ct);
                mailboxes++;
            }
        }

        return new DuplicatesMerged(mailboxes, total);
    }

    /// <summary>
    /// Dovecot passwd-file read for SMTP AUTH alone (<c>dovecot-submission-users.smtp</c>): the mailboxes another node
    /// serves that send through this one, <c>address:{SHA512-CRYPT}hash</c>.
    /// </summary>
    public static string RenderSubmitters(MailState state) =>
        string.Concat((state.Submitters ?? []).OrderBy(s => s.Address, StringComparer.Ordinal).Select(s => $"{s.Address}:{s.PasswordHash}\n"));

    /// <summary>
    /// Postfix <c>smtpd_sender_login_maps</c>: <c>@domain</c> and the mailboxes (SMTP AUTH logins) that may send as
    /// any address of it. A mailbox sends as its own domain only; a sender of any other domain is refused.
    /// </summary>
    public static string RenderSenderLogins(MailState state)
    {
        var logins = state.Users.Where(u => !u.LoginRefused).Select(u => u.Address).Concat((state.Submitters ?? []).Select(s => s.Address));
        return string.Concat(logins.GroupBy(a => a[(a.LastIndexOf('@') + 1)..], StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"@{g.Key} {string.Join(",", g.Order(StringComparer.Ordinal))}\n"));
    }

    /// <summary>Postfix <c>virtual_mailbox_domains</c>: the domains whose mail is delivered here.</summary>
    public static string RenderDomains(MailState state) =>
        string.Concat(state.LocalDomains.Order(StringComparer.Ordinal).Select(d => $"{d} OK\n"));

    /// <summary>Postfix <c>virtual_mailbox_maps</c>: each local address and its Maildir (trailing slash: Maildir format).</summary>
    public static string RenderMailboxMap(MailState state) =>
        string.Concat(state.Users.OrderBy(u => u.Address, StringComparer.Ordinal).Select(u => $"{u.Address} {u.MaildirPath.TrimEnd('/')}/\n"));

    /// <summary>Postfix <c>virtual_alias_maps</c>: forwarders to addresses. Pipes are published as comments, for the admin.</summary>
    public static string RenderAliases(MailState state)
    {
        var text = new StringBuilder();
        foreach (var group in state.Forwards.Where(f => f.Enabled && !f.IsPipe).GroupBy(f => f.Source).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append(group.Key).Append(' ').AppendJoin(", ", group.Select(f => f.Destination).Order(StringComparer.Ordinal)).Append('\n');
        }

        foreach (var pipe in state.Forwards.Where(f => f.IsPipe).OrderBy(f => f.Source, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"# pipe ({(pipe.Enabled ? "enabled" : "disabled")}): {pipe.Source} |{pipe.Destination}\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// Postfix <c>check_recipient_access</c> (in <c>smtpd_recipient_restrictions</c>): mail for a suspended account's
    /// domain is refused at once, permanently and saying why, when the node is set to refuse it.
    /// </summary>
    public static string RenderRecipientAccess(MailState state) =>
        string.Concat((state.RefusedDomains ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(d => $"{d} 550 5.2.1 Mail for {d} is refused: the account is suspended.\n"));

    /// <summary>Postfix <c>transport_maps</c>: a domain another node serves goes there over SMTP (<c>[ip]:25</c>, no MX lookup).</summary>
    public static string RenderTransport(MailState state) =>
        string.Concat(state.Routes.OrderBy(r => r.Domain, StringComparer.Ordinal).Select(r => $"{r.Domain} smtp:[{r.NodeAddress}]:25\n"));

    /// <summary>
    /// Ends a user's open IMAP/POP3 sessions (and, on a proxy, the proxied ones), so clients reconnect. A Dovecot that
    /// is not running has no sessions: its sockets are gone or nobody answers them (a Dovecot that stops ends its
    /// sessions with it), so there is nothing to end, and a move's step does not wait for it to come back.
    /// </summary>
    public async Task<SessionEnding> EndSessionsAsync(string address, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(settings.Doveadm))
        {
            logger.LogInformation("No Dovecot on this node: no IMAP/POP3 sessions of {Address} to end", address);
            return new SessionEnding(address, Ran: false, []);
        }

        string[][] commands = [["kick", address], ["proxy", "kick", address]];
        var ran = new List<string>();
        foreach (var command in commands)
        {
            var (exit, error) = await RunAsync(settings.Doveadm, DoveadmArgs(command), cancellationToken);
            if (exit == 75 && DovecotNotRunning().IsMatch(error))
            {
                logger.LogWarning("Dovecot is not running: no IMAP/POP3 sessions of {Address} to end ({Error})", address, error.Trim());
                return new SessionEnding(address, Ran: false, ran);
            }

            // doveadm answers 68 ("no user") when there was nothing to kick; anything else above 1 is a real failure.
            if (exit is not (0 or 68))
            {
                throw new InvalidOperationException($"doveadm {string.Join(' ', command)} failed ({exit}): {error}");
            }

            ran.Add(string.Join(' ', command));
        }

        return new SessionEnding(address, Ran: true, ran);
    }

    /// <summary>doveadm (exit 75, "temporary failure") found no Dovecot: its socket is gone, or nothing listens on it.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"connect(_unix)?\([^)]*\) failed: (No such file or directory|Connection refused)")]
    private static partial System.Text.RegularExpressions.Regex DovecotNotRunning();

    /// <summary>Whether this node's Dovecot answers doveadm (null: this node runs no Dovecot).</summary>
    public async Task<(bool Up, string Detail)?> CheckDovecotAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(settings.Doveadm))
        {
            return null;
        }

        var (exit, error) = await RunAsync(settings.Doveadm, DoveadmArgs("who"), ct);
        if (exit != 0)
        {
            // The detail (paths, sockets) goes to the log, not to the health answer.
            logger.LogWarning("Dovecot does not answer doveadm ({Exit}): {Error}", exit, error);
        }

        return exit == 0 ? (true, "Dovecot answers doveadm.") : (false, $"Dovecot does not answer (doveadm exit {exit}); see the node's log.");
    }

    /// <summary>Whether this node's Postfix runs (null: this node runs no Postfix).</summary>
    public async Task<(bool Up, string Detail)?> CheckPostfixAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(settings.Postmap))
        {
            return null;
        }

        var (exit, error) = await RunAsync(PostfixProgram, PostfixArgs("status"), ct);
        if (exit != 0)
        {
            logger.LogWarning("Postfix is not running ({Exit}): {Error}", exit, error);
        }

        return exit == 0 ? (true, "Postfix is running.") : (false, $"Postfix is not running (postfix status exit {exit}); see the node's log.");
    }

    /// <summary>
    /// Makes Postfix use what was just written: postmap compiles the maps (when they changed, or were never compiled)
    /// and Postfix reloads, since a running smtpd would answer from the old map (a Postfix reload is graceful: a
    /// delivery in flight finishes). A failure is the publication's failure: the caller's change or move step fails and
    /// can be retried. A Postfix that is not running has nothing to reload: the compiled maps are in place and it reads
    /// them when it starts, so the publication stands (a move's switch must not fail because the child's Postfix was
    /// stopped for a moment).
    /// </summary>
    private async Task ApplyAsync(bool postfixChanged, CancellationToken ct)
    {
        if (postfixChanged && !string.IsNullOrEmpty(settings.Postmap))
        {
            foreach (var map in PostfixMaps)
            {
                await CompileMapAsync(Path.Combine(settings.StateDirectory, map), ct);
            }

            await ReloadPostfixAsync(ct);
        }
    }

    /// <summary>A graceful <c>postfix reload</c>; a Postfix that is not running reads the new files when it starts.</summary>
    private async Task ReloadPostfixAsync(CancellationToken ct)
    {
        var (exit, error) = await RunAsync(PostfixProgram, PostfixArgs("reload"), ct);
        if (exit == 0)
        {
            return;
        }

        if (await CheckPostfixAsync(ct) is (false, _))
        {
            logger.LogWarning("Postfix is not running, so it was not reloaded; it reads the new maps when it starts");
            return;
        }

        throw new InvalidOperationException($"{ExternalProgram.Describe(PostfixProgram, PostfixArgs("reload"))} failed ({exit}): {error}");
    }

    /// <summary>
    /// When a domain changes sides, first puts in place maps that hold both sides (<see cref="BridgeMaps"/>), compiled
    /// one by one, so that no Postfix process, whichever maps it opens in between, finds a domain of this node's
    /// neither routed nor served. Compiled in the final order alone, a domain coming back lost its route before it was
    /// a local domain: Postfix took it for a domain on the Internet, looked for its MX and returned the message
    /// ("unable to look up host"; seen in the chaos test as mail lost at a move back to the parent).
    /// </summary>
    private async Task BridgeAsync(IReadOnlyDictionary<string, string> maps, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(settings.Postmap))
        {
            return;
        }

        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var map in new[] { TransportFile, DomainsFile, MailboxMapFile })
        {
            var path = Path.Combine(settings.StateDirectory, map);
            current[map] = File.Exists(path) ? await File.ReadAllTextAsync(path, ct) : "";
        }

        if (BridgeMaps(current, maps) is not { } bridge)
        {
            return;
        }

        foreach (var map in PostfixMaps.Where(bridge.ContainsKey))
        {
            if (await WriteAsync(map, bridge[map], ct))
            {
                _postfixPending = true;
                await CompileMapAsync(Path.Combine(settings.StateDirectory, map), ct);
            }
        }
    }

    /// <summary>
    /// The maps between <paramref name="current"/> and <paramref name="next"/> when a domain changes sides, or null
    /// when none does. A domain coming here keeps its route until it is a local domain with its mailboxes; a domain
    /// leaving gets its route at once and stays a local domain with its mailboxes until the next maps (a route wins
    /// over a local domain in Postfix: <c>transport_maps</c> decides where a local domain's mail goes).
    /// </summary>
    public static IReadOnlyDictionary<string, string>? BridgeMaps(IReadOnlyDictionary<string, string> current, IReadOnlyDictionary<string, string> next)
    {
        var nextLocal = Keys(next[DomainsFile]);
        var nextRouted = Keys(next[TransportFile]);
        var arriving = Entries(current[TransportFile]).Where(e => !nextRouted.Contains(e.Key) && nextLocal.Contains(e.Key)).ToList();
        var leaving = Entries(current[DomainsFile]).Where(e => !nextLocal.Contains(e.Key) && nextRouted.Contains(e.Key)).ToList();
        if (arriving.Count == 0 && leaving.Count == 0)
        {
            return null;
        }

        var nextAddresses = Keys(next[MailboxMapFile]);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [TransportFile] = Join(Entries(next[TransportFile]).Concat(arriving)),
            [DomainsFile] = Join(Entries(next[DomainsFile]).Concat(leaving)),
            [MailboxMapFile] = Join(Entries(next[MailboxMapFile]).Concat(Entries(current[MailboxMapFile]).Where(e => !nextAddresses.Contains(e.Key)))),
        };

        static IEnumerable<(string Key, string Line)> Entries(string map) =>
            map.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).Select(l => (l.Split(' ', 2)[0], l));

        static HashSet<string> Keys(string map) => Entries(map).Select(e => e.Key).ToHashSet(StringComparer.Ordinal);

        static string Join(IEnumerable<(string Key, string Line)> entries) =>
            string.Concat(entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Line + "\n"));
    }

    /// <summary>
    /// Compiles a map beside the one Postfix reads and renames it into place: postmap rewrites a table in place, and
    /// Berkeley DB's caching lets a running Postfix process read a table half old, half new despite postmap's lock
    /// (Postfix's DATABASE_README, "Updating Berkeley DB files safely"). Seen here: at a switch, a message was taken
    /// for a relay domain without a transport and bounced. A process that has the old file open keeps reading it whole
    /// until Postfix restarts it for the new one.
    /// </summary>
    private async Task CompileMapAsync(string map, CancellationToken ct, bool embedFiles = false)
    {
        var next = map + ".next";
        File.Copy(map, next, overwrite: true);
        // -F: each value names files whose contents go into the table (Postfix's SNI table: a key and its chain).
        IReadOnlyList<string> args = embedFiles ? [.. PostfixArgs("-F"), "hash:" + next] : PostfixArgs("hash:" + next);
        await RunOrThrowAsync(settings.Postmap!, args, ct, privileged: false);
        File.Move(next + ".db", map + ".db", overwrite: true);
        File.Delete(next);
    }

    /// <summary>
    /// Dovecot is never reloaded for a change of its passwd-files: a reload ends its LMTP sessions, and a message LMTP
    /// had already saved was answered "421 Shutting down", so Postfix delivered it again (through the new route after
    /// a move's switch: the message twice). Dovecot's auth process instead looks at each passwd-file again at its
    /// first lookup in each new second, and reads it when its mtime (whole seconds) or size changed
    /// (<c>passwd_file_sync</c> in Dovecot's db-passwd-file.c). So this waits until the second after the write has
    /// begun: from then on every lookup sees the new file, before Postfix is told about a new mailbox or route. And
    /// since publications go one at a time, the next write falls in a later second: its mtime differs even when its
    /// size does not (a changed password hash has the same size).
    /// </summary>
    private async Task UntilDovecotReadsAgainAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(settings.Doveadm))
        {
            return; // no Dovecot is driven here
        }

        var now = DateTimeOffset.UtcNow;
        var nextSecond = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(1);
        await Task.Delay(nextSecond - now + DovecotClockMargin, ct);
    }

    /// <summary>Past the second's turn, for the time Dovecot's event loop takes to notice it.</summary>
    private static readonly TimeSpan DovecotClockMargin = TimeSpan.FromMilliseconds(50);

    // Each command talks to this node's own instance (-c) when its configuration is given.
    private string[] PostfixArgs(string argument) => settings.PostfixConfig is { Length: > 0 } config ? ["-c", config, argument] : [argument];

    private string[] DoveadmArgs(params string[] command) => settings.DovecotConfig is { Length: > 0 } config ? ["-c", config, .. command] : command;

    /// <summary>postfix itself lives beside postmap.</summary>
    private string PostfixProgram => Path.Combine(Path.GetDirectoryName(settings.Postmap) ?? "", "postfix");

    private async Task RunOrThrowAsync(string program, IReadOnlyList<string> args, CancellationToken ct, bool privileged = true)
    {
        var (exit, error) = await RunAsync(program, args, ct, privileged);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{ExternalProgram.Describe(program, args)} failed ({exit}): {error}");
        }
    }

    /// <summary>Runs one mail-server tool within <see cref="MailServerAdapterSettings.CommandTimeout"/>; a hung one is stopped and reported.</summary>
    private async Task<(int Exit, string Error)> RunAsync(string program, IReadOnlyList<string> args, CancellationToken ct, bool privileged = true)
    {
        if (privileged && settings.Sudo)
        {
            (program, args) = ("/usr/bin/sudo", ["-n", program, .. args]);
        }

        try
        {
            var result = await ExternalProgram.RunAsync(program, args, settings.CommandTimeout, ct);
            return (result.ExitCode, result.Error);
        }
        catch (ExternalProgramException ex)
        {
            throw new InvalidOperationException($"{ex.Message} Check the mail server settings (Portal:Mail).", ex);
        }
        catch (ExternalProgramTimeoutException ex)
        {
            logger.LogError("{Command} hung: stopped after {Seconds} s", ex.Command, ex.Limit.TotalSeconds);
            throw;
        }
    }

    /// <summary>Writes a file of the mail state folder whole; false when it already said exactly that.</summary>
    private Task<bool> WriteAsync(string name, string content, CancellationToken ct) =>
        WholeFile.WriteAsync(Path.Combine(settings.StateDirectory, name), content, ct);
}
