using Microsoft.EntityFrameworkCore.Design;

namespace Portal.Infrastructure.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting a node or reaching a database.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<PortalDbContext>
{
    public PortalDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PortalDbContext>()
            .UseNpgsql("Host=localhost;Database=portal_design")
            .Options);
}
