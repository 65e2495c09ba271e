using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;

namespace Portal.Tests.Integration;

/// <summary>
/// The Data Protection keys (which protect session cookies, and the node tokens a parent keeps for its children) are
/// encrypted in the database with a certificate kept outside it: a dump of the database alone opens nothing.
/// </summary>
public sealed class KeyEncryptionTests
{
    private const string Purpose = "KeyEncryptionTests";

    [Fact]
    public async Task KeysStoredInTheClear_AreEncryptedAtStart_AndStillOpenWhatTheyProtected_ButNotWithoutTheCertificate()
    {
        // The database of a node whose key was stored in the clear (an older Portal), with something it protected.
        var connectionString = await TestDatabases.CreateAsync("key encryption");
        string protectedText;
        await using (var older = DataProtectionOn(connectionString, generateKeys: true))
        {
            protectedText = older.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).Protect("a child's node token");
        }

        Assert.Contains("<value>", await StoredKeysAsync(connectionString));

        await using var node = await PortalNode.StartAsync("keys", connectionString: connectionString);
        using (var browser = PortalHttp.CreateClient(node.BaseUrl))
        {
            // A page with a form: the node uses its keys (and makes a new one if it must).
            await PortalHttp.GetAntiforgeryTokenAsync(browser, "auth/signin");
        }

        var stored = await StoredKeysAsync(connectionString);
        Assert.DoesNotContain("<value>", stored);
        Assert.Contains("encryptedSecret", stored);
        var certificateFile = Path.Combine(Path.GetDirectoryName(node.MailRoot)!, "secrets", "data-protection-keys.pem");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(certificateFile));

        // With the certificate, what the old key protected is still readable...
        using var certificate = X509Certificate2.CreateFromPemFile(certificateFile);
        await using (var withCertificate = DataProtectionOn(connectionString, certificate))
        {
            Assert.Equal("a child's node token", withCertificate.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).Unprotect(protectedText));
        }

        // ...without it (a copy of the database alone), it is not.
        await using var dumpOnly = DataProtectionOn(connectionString);
        Assert.ThrowsAny<CryptographicException>(() => dumpOnly.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).Unprotect(protectedText));
    }

    private static ServiceProvider DataProtectionOn(string connectionString, X509Certificate2? certificate = null, bool generateKeys = false)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddDbContext<PortalDbContext>(o => o.UseNpgsql(connectionString, n => n.MigrationsHistoryTable("__ef_migrations_history")));
        var builder = services.AddDataProtection().SetApplicationName("portal").PersistKeysToDbContext<PortalDbContext>();
        if (!generateKeys)
        {
            // No new key while reading: what exists must do.
            builder.DisableAutomaticKeyGeneration();
        }

        if (certificate is not null)
        {
            builder.UnprotectKeysWithAnyCertificate(certificate);
        }

        return services.BuildServiceProvider();
    }

    private static async Task<string> StoredKeysAsync(string connectionString)
    {
        await using var db = TestDatabases.OpenContext(connectionString);
        return string.Join("\n", await db.DataProtectionKeys.Select(k => k.Xml).ToListAsync());
    }
}
