using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Portal.Jobs.Tls;

/// <summary>Certificate checks against roots of our choosing (a test certificate authority), never the machine's store.</summary>
public static class TlsTrust
{
    /// <summary>
    /// An HTTP handler that accepts a server only with a certificate that chains to one of the roots in
    /// <paramref name="rootsPem"/> (PEM) and is valid for the name asked for: what a client of a test CA such as
    /// Pebble needs, without trusting that CA anywhere else on the machine.
    /// </summary>
    public static SocketsHttpHandler HandlerTrusting(string rootsPem) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is X509Certificate2 server && ChainsTo(server, rootsPem, extra: null)
                && (errors & ~(SslPolicyErrors.RemoteCertificateChainErrors)) == SslPolicyErrors.None,
        },
    };

    /// <summary>Whether <paramref name="certificate"/> chains to a root in <paramref name="rootsPem"/>, through <paramref name="extra"/> intermediates.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, string rootsPem, X509Certificate2Collection? extra)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(rootsPem);
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (extra is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(extra);
        }

        return chain.Build(certificate);
    }
}
