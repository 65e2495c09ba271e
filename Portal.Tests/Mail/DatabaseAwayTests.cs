using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Portal.Tests.Mail;

/// <summary>
/// A move rides out its database going away (restarted, closed to connections) by running again from its
/// checkpoints once the database answers, and only then: a refusal by the database is a failure like any other.
/// </summary>
public sealed class DatabaseAwayTests
{
    public static TheoryData<Exception, bool> Exceptions => new()
    {
        { new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown), true },
        { new PostgresException("the database system is starting up", "FATAL", "FATAL", PostgresErrorCodes.CannotConnectNow), true },
        { new PostgresException("database \"portal\" is not currently accepting connections", "FATAL", "FATAL", PostgresErrorCodes.ObjectNotInPrerequisiteState), true },
        { new PostgresException("connection failure", "FATAL", "FATAL", PostgresErrorCodes.ConnectionFailure), true },
        { new NpgsqlException("Exception while reading from stream", new EndOfStreamException()), true },
        // EF Core and Hangfire wrap the driver's exception.
        { new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", new PostgresException("terminating connection", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)), true },
        { new PostgresException("duplicate key value violates unique constraint", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation), false },
        { new PostgresException("cannot drop a table in use", "ERROR", "ERROR", PostgresErrorCodes.ObjectNotInPrerequisiteState), false },
        { new InvalidOperationException("The account is being moved."), false },
        { new IOException("No space left on device"), false },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void OnlyADatabaseThatCannotBeReached_CountsAsAway(Exception exception, bool away) =>
        Assert.Equal(away, DatabaseAway.Is(exception));

    [Fact]
    public async Task AJob_RunsAgainOnceTheDatabaseIsBack_SayingSoOnItsOperation()
    {
        var attempts = new List<string?>();

        await DatabaseAway.RideOutAsync(resumed =>
        {
            attempts.Add(resumed);
            return attempts.Count <= 2 ? throw new NpgsqlException("Connection refused", new System.Net.Sockets.SocketException(111)) : Task.CompletedTask;
        }, new InstantClock(), TimeSpan.FromMinutes(30), NullLogger.Instance, "mail-copy 1", CancellationToken.None);

        Assert.Equal(3, attempts.Count);
        Assert.Null(attempts[0]);
        Assert.Contains("database was away", attempts[2]);
    }

    [Fact]
    public async Task ARunAgainThatFindsItsOperationEnded_StopsQuietly()
    {
        var attempts = 0;

        // The first attempt recorded its end, then met a connection the outage had cut (a pooled one, say).
        await DatabaseAway.RideOutAsync(
            _ => ++attempts == 1 ? throw new NpgsqlException("Exception while reading from stream") : throw new Portal.Jobs.Operations.OperationEndedException("already ended"),
            new InstantClock(), TimeSpan.FromMinutes(30), NullLogger.Instance, "mail-copy 1", CancellationToken.None);

        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task AFailureOfAnotherKind_IsNotRunAgain()
    {
        var attempts = 0;

        await Assert.ThrowsAsync<IOException>(() => DatabaseAway.RideOutAsync(_ =>
        {
            attempts++;
            throw new IOException("No space left on device");
        }, new InstantClock(), TimeSpan.FromMinutes(30), NullLogger.Instance, "mail-copy 1", CancellationToken.None));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task ADatabaseAwayLongerThanTheWindow_EndsTheJob()
    {
        var clock = new SteppingClock();

        await Assert.ThrowsAsync<NpgsqlException>(() => DatabaseAway.RideOutAsync(
            _ => throw new NpgsqlException("Connection refused"), clock, TimeSpan.FromMinutes(1), NullLogger.Instance, "mail-copy 1", CancellationToken.None));

        Assert.InRange(clock.Advanced, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1) + DatabaseAway.LongestWait);
    }

    /// <summary>A clock that moves on by each wait asked of it, at once.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private readonly DateTimeOffset _start = DateTimeOffset.UnixEpoch;

        public TimeSpan Advanced { get; private set; }

        public override DateTimeOffset GetUtcNow() => _start + Advanced;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Advanced += dueTime;
            return base.CreateTimer(callback, state, TimeSpan.Zero, period);
        }
    }
}
