namespace Portal.Infrastructure.Hosting;

/// <summary>The node cannot start with this configuration; the message says which setting and what to do.</summary>
public sealed class PortalConfigurationException(string message) : Exception(message);
