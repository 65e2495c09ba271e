return await PortalProgram.RunAsync(args);

/// <summary>The entry point, visible to tests (WebApplicationFactory).</summary>
public partial class Program;
