namespace Portal.Jobs.Mail;

public sealed class MailServerAdapterSettings
{
    /// <summary>Folder the mail servers' files are written to (passwd-file, Postfix maps).</summary>
    public string StateDirectory { get; set; } = "/var/lib/portal/mail-state";

    /// <summary>The system user and group that own the Maildirs (Dovecot's <c>uid</c>/<c>gid</c> fields).</summary>
    public int Uid { get; set; } = 5000;

    public int Gid { get; set; } = 5000;

    /// <summary>doveadm, to end IMAP/POP3 sessions; empty when this node runs no Dovecot.</summary>
    public string? Doveadm { get; set; }

    /// <summary>The Dovecot configuration file doveadm talks to (<c>doveadm -c FILE</c>).</summary>
    public string? DovecotConfig { get; set; }

    /// <summary>postmap, to compile the Postfix maps after each publication; empty when this node runs no Postfix.</summary>
    public string? Postmap { get; set; }

    /// <summary>The Postfix configuration folder (<c>postmap -c DIR</c>).</summary>
    public string? PostfixConfig { get; set; }

    /// <summary>nginx, which serves the webmail (reloaded for its certificates); empty when this node serves no webmail.</summary>
    public string? Nginx { get; set; }

    /// <summary>The configuration file of this node's nginx (<c>nginx -c FILE</c>).</summary>
    public string? NginxConfig { get; set; }

    /// <summary>How long one run of doveadm, postfix or postmap may take before it is stopped (with what it started).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Run doveadm and postfix (not postmap, which only writes Portal's own maps) through <c>sudo -n</c>: a node that
    /// runs as its own unprivileged user is allowed exactly those commands by deploy/sudoers.
    /// </summary>
    public bool Sudo { get; set; }
}
