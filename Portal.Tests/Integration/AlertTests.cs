namespace Portal.Tests.Integration;

/// <summary>
/// Admins learn of problems without reading logs: a child offline for longer than the limit, and a mail server of the
/// node that stops answering, each raise one notification for every admin and one email (here to an SMTP sink standing
/// in for the node's Postfix), and a second pair when the problem is over.
/// </summary>
public sealed class AlertTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new();
    private readonly TempFolder _temp = new("portal-alerts-");
    private PortalNode _parent = default!;
    private PortalNode _child = default!;
    private string _childId = "";
    private string _dovecotDown = "";

    public async Task InitializeAsync()
    {
        _dovecotDown = Path.Combine(_temp.Path, "dovecot-down");
        var doveadm = Shell.WriteScript(Path.Combine(_temp.Path, "doveadm"), $"[ -e {_dovecotDown} ] && exit 75; exit 0");
        var started = await Task.WhenAll(
            PortalNode.StartAsync("aparent", new Dictionary<string, string>
            {
                ["Portal:Alerts:CheckInterval"] = "00:00:01",
                ["Portal:Alerts:ChildOfflineAfter"] = "00:00:02",
                ["Portal:Alerts:SmtpServer"] = _smtp.Server,
                ["Portal:Alerts:From"] = "portal@parent.example.test",
                ["Portal:Alerts:EmailTo:0"] = "ops@example.test",
                ["Portal:Mail:Doveadm"] = doveadm,
                ["Portal:Bootstrap:AdminEmail"] = "admin@parent.example.test",
            }),
            PortalNode.StartAsync("achild"));
        (_parent, _child) = (started[0], started[1]);
        try
        {
            await PrepareAsync();
        }
        catch
        {
            // xunit does not dispose a test class whose set-up failed: the nodes go now.
            await DisposeAsync();
            throw;
        }
    }

    private async Task PrepareAsync()
    {
        (await _child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        _childId = (await LinkedNodesFixture.LinkAsync(_parent, _child, "mail-1")).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
        // Every admin hears of a problem: a second one (admins are made by the node's owner, here in its database).
        await using var db = TestDatabases.OpenContext(_parent.ConnectionString);
        var adminRole = await db.Roles.SingleAsync(r => r.Name == "Admin");
        var second = new PortalUser { UserName = "second", NormalizedUserName = "SECOND", SecurityStamp = Guid.NewGuid().ToString() };
        db.Users.Add(second);
        db.UserRoles.Add(new Microsoft.AspNetCore.Identity.IdentityUserRole<string> { UserId = second.Id, RoleId = adminRole.Id });
        await db.SaveChangesAsync();
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(new[] { _parent, _child }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));
        _smtp.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task AChildOfflineLongerThanTheLimit_IsAnAlertForEveryAdmin_OnceWhileItLasts_AndAgainWhenItIsBack()
    {
        await _child.StopAsync();
        (await _parent.Api.PostAsync($"api/v1/linked-nodes/{_childId}/check", new { })).Expect(HttpStatusCode.OK);

        var offline = await WaitForMailAsync("The child node mail-1 is offline");
        Assert.Equal(["admin@parent.example.test", "ops@example.test"], offline.Recipients.Order());
        Assert.Contains("forced dedistribution", offline.Data, StringComparison.Ordinal);
        Assert.Equal(2, await NotificationsAsync("The child node mail-1 is offline"));

        // Checked every second meanwhile: still one alert, one email.
        await Task.Delay(3000);
        Assert.Single(_smtp.Messages, m => m.Subject.Contains("is offline", StringComparison.Ordinal));
        Assert.Equal(2, await NotificationsAsync("The child node mail-1 is offline"));

        await _child.RestartAsync();
        (await _parent.Api.PostAsync($"api/v1/linked-nodes/{_childId}/check", new { })).Expect(HttpStatusCode.OK);
        await WaitForMailAsync("The child node mail-1 is back online");
        Assert.Equal(2, await NotificationsAsync("The child node mail-1 is back online"));
        await using var db = TestDatabases.OpenContext(_parent.ConnectionString);
        Assert.Empty(await db.Alerts.Where(a => a.ResolvedAt == null).ToListAsync());
    }

    [Fact]
    public async Task AMailServerThatStopsAnswering_IsAnAlert_AndItsReturnIsSaid()
    {
        File.WriteAllText(_dovecotDown, "");

        var down = await WaitForMailAsync("Dovecot (IMAP, POP3, LMTP) is not answering");
        Assert.Contains("[Portal aparent]", down.Subject, StringComparison.Ordinal);
        Assert.Equal(2, await NotificationsAsync("Dovecot (IMAP, POP3, LMTP) is not answering"));

        File.Delete(_dovecotDown);
        await WaitForMailAsync("Dovecot (IMAP, POP3, LMTP) answers again");
    }

    [Fact]
    public async Task ACertificateAutoSslCouldNotRenewInTime_IsAnAlertSayingWhy_ResolvedOnceItIsRenewed()
    {
        (await _parent.Api.PostAsync("api/v1/accounts", new { username = "certx", domain = "certx.example.test", contactEmail = "o@certx.example.test" })).Expect(HttpStatusCode.Created);
        await using (var db = TestDatabases.OpenContext(_parent.ConnectionString))
        {
            var account = await db.Accounts.SingleAsync(a => a.Username == "certx");
            // Within half of the 30 days before its end AutoSSL renews at, and the last renewal failed.
            db.TlsCertificates.Add(new TlsCertificate
            {
                AccountId = account.Id, Names = ["certx.example.test"], ChainPem = "-", NotAfter = DateTimeOffset.UtcNow.AddDays(10),
                LastError = "The certificate authority refused mail.certx.example.test: no TXT record found",
            });
            await db.SaveChangesAsync();
        }

        var expiring = await WaitForMailAsync("The certificate of certx expires soon");
        Assert.Contains("no TXT record found", expiring.Data, StringComparison.Ordinal);
        Assert.Equal(2, await NotificationsAsync("The certificate of certx expires soon"));

        await using (var db = TestDatabases.OpenContext(_parent.ConnectionString))
        {
            await db.TlsCertificates.ExecuteUpdateAsync(u => u.SetProperty(c => c.NotAfter, DateTimeOffset.UtcNow.AddDays(80)).SetProperty(c => c.LastError, (string?)null));
        }

        await WaitForMailAsync("The certificate of certx was renewed");
    }

    private async Task<SmtpSink.Message> WaitForMailAsync(string subject)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_smtp.Messages.FirstOrDefault(m => m.Subject.EndsWith(subject, StringComparison.Ordinal)) is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no email \"{subject}\" within 30 s; got: {string.Join(" | ", _smtp.Messages.Select(m => m.Subject))}");
            await Task.Delay(200);
        }
    }

    /// <summary>How many admins of the parent were told, in the panel, with this title.</summary>
    private async Task<int> NotificationsAsync(string title)
    {
        await using var db = TestDatabases.OpenContext(_parent.ConnectionString);
        return await db.Notifications.CountAsync(n => n.Title == title);
    }
}
