using Npgsql;

namespace Portal.Infrastructure.Data;

/// <summary>Which rule of the database refused a save, for the refusals that mean something to the user.</summary>
public static class DbErrors
{
    /// <summary>A unique index refused the row (a name somebody else took between the check and the save).</summary>
    public static bool IsUniqueViolation(this DbUpdateException ex) =>
        ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <summary>A foreign key refused the change (a row deleted while another came to refer to it).</summary>
    public static bool IsForeignKeyViolation(this DbUpdateException ex) =>
        ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };
}
