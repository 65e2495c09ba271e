using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Portal.Infrastructure.Security;

/// <summary>
/// The certificate that encrypts this node's Data Protection keys where they are stored (the database), kept in a file
/// outside it (Portal:DataProtection:CertificateFile): a database dump alone then reveals neither the node tokens this
/// node keeps for its children nor the keys that sign session cookies. The file is made on first start (a self-signed
/// RSA certificate and its private key, PEM, readable by this node's user only) and must be backed up with the node:
/// without it, what the keys protect cannot be read back.
/// </summary>
public sealed class KeyEncryptionCertificate
{
    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";
    private static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";

    private KeyEncryptionCertificate(string path, X509Certificate2 certificate)
    {
        Path = path;
        Certificate = certificate;
    }

    public string Path { get; }

    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate from its file, made first if there is none; a file that cannot be made or read is a configuration problem.</summary>
    public static KeyEncryptionCertificate Load(string path)
    {
        try
        {
            return new KeyEncryptionCertificate(path, LoadOrCreate(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new PortalConfigurationException(
                $"Portal:DataProtection:CertificateFile: {path} could not be made or read ({ex.Message}). Give a file this node's user may create, or restore the node's own from its backup.");
        }
    }

    public static X509Certificate2 LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            Create(path);
        }

        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(path);
            return certificate.HasPrivateKey
                ? certificate
                : throw new InvalidOperationException($"{path} holds no private key; the key encryption certificate needs the certificate and its private key (PEM).");
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"{path} is not a PEM certificate with its private key ({ex.Message}). Restore it from the node's backup; without it the stored keys cannot be read.", ex);
        }
    }

    private static void Create(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        using var rsa = RSA.Create(3072);
        var request = new CertificateRequest("CN=Portal Data Protection key encryption", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(100));
        var pem = certificate.ExportCertificatePem() + "\n" + rsa.ExportPkcs8PrivateKeyPem() + "\n";
        // Written to a new file readable by this user only, then moved into place: never a moment world-readable, never half a file.
        var temporary = path + ".new";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(pem);
        }

        File.Move(temporary, path, overwrite: false);
    }

    /// <summary>
    /// Encrypts, in place, every stored key still kept in the clear (written before the keys were encrypted, or by an
    /// older Portal), the way Data Protection itself encrypts a new key; returns how many. The keys themselves do not
    /// change, so everything they protect stays readable.
    /// </summary>
    public static async Task<int> EncryptStoredKeysAsync(PortalDbContext db, IXmlEncryptor encryptor, CancellationToken ct)
    {
        var changed = 0;
        foreach (var key in await db.DataProtectionKeys.Where(k => k.Xml != null).ToListAsync(ct))
        {
            var element = XElement.Parse(key.Xml!);
            var plain = element.DescendantsAndSelf().Where(e => (bool?)e.Attribute(RequiresEncryption) == true).ToList();
            if (plain.Count == 0)
            {
                continue;
            }

            foreach (var secret in plain)
            {
                // The encryptor gets a copy in a document of its own, as Data Protection gives it one.
                var copy = new XElement(secret);
                _ = new XDocument(copy);
                var encrypted = encryptor.Encrypt(copy);
                secret.ReplaceWith(new XElement(EncryptedSecret,
                    new XAttribute("decryptorType", encrypted.DecryptorType.AssemblyQualifiedName!),
                    encrypted.EncryptedElement));
            }

            key.Xml = element.ToString(SaveOptions.DisableFormatting);
            changed++;
        }

        await db.SaveChangesAsync(ct);
        return changed;
    }
}
