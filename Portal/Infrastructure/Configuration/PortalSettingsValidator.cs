using System.ComponentModel.DataAnnotations;

namespace Portal.Infrastructure.Configuration;

/// <summary>
/// Checks every setting at start-up and reports all problems at once, each with the setting's name and what to do.
/// </summary>
public sealed class PortalSettingsValidator : IValidateOptions<PortalSettings>
{
    public ValidateOptionsResult Validate(string? name, PortalSettings options)
    {
        var errors = new List<string>();
        Check(options, errors);
        Check(options.Jobs, errors);
        Check(options.SelfCheck, errors);
        Check(options.Operations, errors);
        Check(options.Distribution, errors);
        Check(options.Security, errors);
        Check(options.Bootstrap, errors);
        Check(options.Development, errors);
        Check(options.Dns, errors);
        Check(options.Mail, errors);
        Check(options.Tls, errors);
        Check(options.Alerts, errors);
        CheckAlerts(options.Alerts, errors);
        CheckTls(options.Tls, errors);
        CheckPanelCertificate(options, errors);
        if (options.Telemetry.OtlpEndpoint is { Length: > 0 } otlp
            && (!Uri.TryCreate(otlp, UriKind.Absolute, out var collector) || collector.Scheme is not ("http" or "https")))
        {
            errors.Add($"Portal:Telemetry:OtlpEndpoint: \"{otlp}\" is not an http(s) address; give the collector's, for example http://collector:4318.");
        }

        if (options.Telemetry.PrometheusListener is { Length: > 0 } listener
            && (!Uri.TryCreate(listener, UriKind.Absolute, out var prefix) || prefix.Scheme != "http" || !listener.EndsWith('/')))
        {
            errors.Add($"Portal:Telemetry:PrometheusListener: \"{listener}\" is not a listener prefix; write http://ADDRESS:PORT/, for example http://127.0.0.1:9464/.");
        }
        if (options.Mail.StateDirectory is { Length: > 0 } stateDir && !Path.IsPathFullyQualified(stateDir))
        {
            errors.Add($"Portal:Mail:StateDirectory must be an absolute path; \"{stateDir}\" is relative.");
        }

        if (!System.Net.IPAddress.TryParse(options.Dns.PublicIPv4, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            errors.Add($"Portal:Dns:PublicIPv4 must be an IPv4 address such as 192.0.2.10; \"{options.Dns.PublicIPv4}\" is not.");
        }

        if (!File.Exists(options.Dns.PublicSuffixList))
        {
            errors.Add($"Portal:Dns:PublicSuffixList: {options.Dns.PublicSuffixList} does not exist; install Debian's publicsuffix package (apt-get install publicsuffix), or name the list's file.");
        }

        foreach (var ns in options.Dns.NameServers)
        {
            if (Uri.CheckHostName(ns) != UriHostNameType.Dns || !ns.Contains('.'))
            {
                errors.Add($"Portal:Dns:NameServers: \"{ns}\" is not a host name; write names like ns1.example.net.");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.MailRoot) && !Path.IsPathFullyQualified(options.MailRoot))
        {
            errors.Add($"Portal:MailRoot must be an absolute path; \"{options.MailRoot}\" is relative.");
        }

        if (!string.IsNullOrWhiteSpace(options.PublicUrl) && !IsHttpUrl(options.PublicUrl, options.AllowInsecureHttp))
        {
            errors.Add(options.AllowInsecureHttp
                ? $"Portal:PublicUrl must be an absolute http:// or https:// URL; \"{options.PublicUrl}\" is not."
                : $"Portal:PublicUrl must be an absolute https:// URL; \"{options.PublicUrl}\" is not (plain http needs Portal:AllowInsecureHttp, for development only).");
        }

        foreach (var origin in options.Security.AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.GetLeftPart(UriPartial.Authority) != origin.TrimEnd('/'))
            {
                errors.Add($"Portal:Security:AllowedOrigins: \"{origin}\" is not an origin; write scheme://host[:port], for example https://panel.example.com.");
            }
        }

        if (options.Dns.PowerDns.ApiUrl is { Length: > 0 } apiUrl)
        {
            if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var api) || api.Scheme is not ("http" or "https"))
            {
                errors.Add($"Portal:Dns:PowerDns:ApiUrl: \"{apiUrl}\" is not an http(s) address; give PowerDNS's webserver, for example http://127.0.0.1:8081/.");
            }

            if (string.IsNullOrEmpty(options.Dns.PowerDns.ApiKeyFile) || !File.Exists(options.Dns.PowerDns.ApiKeyFile))
            {
                errors.Add("Portal:Dns:PowerDns:ApiKeyFile must name an existing file holding PowerDNS's api-key when ApiUrl is set.");
            }
        }

        foreach (var proxy in options.Security.TrustedProxies)
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _) && !System.Net.IPNetwork.TryParse(proxy, out _))
            {
                errors.Add($"Portal:Security:TrustedProxies: \"{proxy}\" is neither an address nor a network; write 10.0.0.5 or 10.0.0.0/24.");
            }
        }

        if (options.Development.ReportedVersion is { } reported)
        {
            if (!options.AllowInsecureHttp)
            {
                errors.Add("Portal:Development:ReportedVersion is for development and tests only; remove it (or turn on Portal:AllowInsecureHttp on a development node).");
            }
            else if (!NodeVersion.TryParse(reported, out _))
            {
                errors.Add($"Portal:Development:ReportedVersion must be major.minor.patch; \"{reported}\" is not.");
            }
        }

        if (options.Development.ReportedMailFreeBytes is not null && !options.AllowInsecureHttp)
        {
            errors.Add("Portal:Development:ReportedMailFreeBytes is for tests only; remove it (or turn on Portal:AllowInsecureHttp on a development node).");
        }

        if (options.Development.CorruptReceivedMailFiles > 0 && !options.AllowInsecureHttp)
        {
            errors.Add("Portal:Development:CorruptReceivedMailFiles is for tests only; remove it (or turn on Portal:AllowInsecureHttp on a development node).");
        }

        if (options.Mail.WebmailUrl is { Length: > 0 } webmail
            && !Uri.TryCreate(webmail.Replace("{domain}", "example.com", StringComparison.Ordinal), UriKind.Absolute, out _))
        {
            errors.Add($"Portal:Mail:WebmailUrl must be an absolute URL (\"{{domain}}\" allowed), like https://webmail.{{domain}}/; \"{webmail}\" is not.");
        }

        if (options.Development.CorruptMailArchives && !options.AllowInsecureHttp)
        {
            errors.Add("Portal:Development:CorruptMailArchives is for tests only; remove it (or turn on Portal:AllowInsecureHttp on a development node).");
        }

        if (options.SelfCheck.DiskProbeBytes is < 1024 * 1024 or > 8L * 1024 * 1024 * 1024)
        {
            errors.Add("Portal:SelfCheck:DiskProbeBytes must be between 1048576 (1 MiB) and 8589934592 (8 GiB).");
        }

        if (options.SelfCheck.DatabasePings is < 1 or > 100_000)
        {
            errors.Add("Portal:SelfCheck:DatabasePings must be between 1 and 100000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckAlerts(AlertsSettings alerts, List<string> errors)
    {
        if (alerts.SmtpServer is { Length: > 0 } smtp && !TryHostPort(smtp, out _, out _))
        {
            errors.Add($"Portal:Alerts:SmtpServer: \"{smtp}\" is not host:port; give the node's own Postfix, for example 127.0.0.1:25.");
        }

        foreach (var address in alerts.EmailTo.Append(alerts.From ?? "portal@example.com"))
        {
            if (!new EmailAddressAttribute().IsValid(address))
            {
                errors.Add($"Portal:Alerts: \"{address}\" is not an email address.");
            }
        }
    }

    /// <summary>"host:port" with a port between 1 and 65535.</summary>
    internal static bool TryHostPort(string value, out string host, out int port)
    {
        var colon = value.LastIndexOf(':');
        host = colon > 0 ? value[..colon] : "";
        port = 0;
        return colon > 0 && int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port is > 0 and < 65536 && Uri.CheckHostName(host.Trim('[', ']')) != UriHostNameType.Unknown;
    }

    private static void CheckTls(TlsSettings tls, List<string> errors)
    {
        Check(tls.Acme, errors);
        if (tls.Acme.DirectoryUrl is { Length: > 0 } directory && !IsHttpUrl(directory, allowHttp: false))
        {
            errors.Add($"Portal:Tls:Acme:DirectoryUrl: \"{directory}\" is not an https address; give the ACME directory's, for example https://acme-v02.api.letsencrypt.org/directory.");
        }

        if (tls.Acme.TrustedRootsFile is { Length: > 0 } roots && !File.Exists(roots))
        {
            errors.Add($"Portal:Tls:Acme:TrustedRootsFile: {roots} does not exist; name a PEM file with the test CA's roots, or leave it empty to use the machine's.");
        }

        if (string.IsNullOrEmpty(tls.CertificateFile) != string.IsNullOrEmpty(tls.KeyFile))
        {
            errors.Add("Portal:Tls:CertificateFile and Portal:Tls:KeyFile go together: set both (the certificate and its private key, PEM), or neither.");
            return;
        }

        // Files AutoSSL writes may not be there yet (a self-signed certificate is served until they are).
        if (!tls.Enabled || (tls.CertificateFromAutoSsl && !File.Exists(tls.CertificateFile) && !File.Exists(tls.KeyFile)))
        {
            return;
        }

        try
        {
            using var certificate = PanelCertificate.Load(tls.CertificateFile!, tls.KeyFile!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            errors.Add($"Portal:Tls: the certificate {tls.CertificateFile} with the key {tls.KeyFile} cannot be used: {ex.Message} Give a PEM certificate (with its chain) and its unencrypted PEM key, readable by the node's user.");
        }
    }

    /// <summary>A node whose panel certificate comes from AutoSSL: where it goes, which host it names, and how a parent proves it.</summary>
    private static void CheckPanelCertificate(PortalSettings options, List<string> errors)
    {
        var nodesZone = options.Dns.NodesZone;
        if (nodesZone is { Length: > 0 } && !DomainNames.IsHostName(nodesZone))
        {
            errors.Add($"Portal:Dns:NodesZone: \"{nodesZone}\" is not a DNS name; give the zone delegated to this node for its nodes' host names, for example nodes.example.net.");
            nodesZone = null;
        }

        if (!options.Tls.CertificateFromAutoSsl)
        {
            return;
        }

        if (!options.Tls.Enabled)
        {
            errors.Add("Portal:Tls:CertificateFromAutoSsl needs Portal:Tls:CertificateFile and Portal:Tls:KeyFile: the files AutoSSL writes the panel's certificate and key to.");
        }

        if (PanelHost.Of(options) is not { } host)
        {
            errors.Add("Portal:Tls:CertificateFromAutoSsl needs Portal:PublicUrl with the panel's host name (https://panel.nodes.example.net): the certificate is issued for it.");
        }
        else if (options.Tls.Acme.Enabled && !(nodesZone is { Length: > 0 } zone && PanelHost.IsIn(host, zone)))
        {
            errors.Add($"Portal:Tls:CertificateFromAutoSsl: this node issues its own certificate, proving {host} through DNS-01 in its nodes zone; set Portal:Dns:NodesZone to a zone delegated to this node that {host} lies in.");
        }
    }

    private static bool IsHttpUrl(string value, bool allowHttp) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (allowHttp && uri.Scheme == Uri.UriSchemeHttp));

    private static void Check(object section, List<string> errors)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true);
        errors.AddRange(results.Select(r => r.ErrorMessage ?? $"Invalid setting: {string.Join(", ", r.MemberNames)}"));
    }
}
