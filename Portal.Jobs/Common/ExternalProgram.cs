using System.ComponentModel;
using System.Diagnostics;

namespace Portal.Jobs.Common;

/// <summary>What a program printed and how it ended.</summary>
public sealed record ProgramResult(int ExitCode, string Output, string Error);

/// <summary>A program could not be started at all (missing, not executable).</summary>
public sealed class ExternalProgramException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A program did not finish in time and was stopped, with every process it had started.</summary>
public sealed class ExternalProgramTimeoutException(string command, TimeSpan limit)
    : Exception($"{command} did not finish within {Units.Duration(limit)}; Portal stopped it and the processes it had started. " +
                "Check that the server it talks to is running and answering (and that no other process holds its lock), then retry.")
{
    public string Command { get; } = command;

    public TimeSpan Limit { get; } = limit;
}

/// <summary>
/// The one way Portal runs another program (doveadm, postfix, postmap, ...): with a time limit, standard input closed,
/// and on timeout or cancellation the program and every process it started are killed, so a hung server tool can never
/// hold a lock (the mail-state publication's) or a job forever.
/// </summary>
public static class ExternalProgram
{
    public static async Task<ProgramResult> RunAsync(string program, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process? started;
        try
        {
            started = Process.Start(start);
        }
        catch (Win32Exception ex)
        {
            throw new ExternalProgramException($"Could not run {program}: {ex.Message}.", ex);
        }

        using var process = started ?? throw new ExternalProgramException($"Could not run {program}.");
        // A program that asks for input gets none, rather than waiting for it.
        process.StandardInput.Close();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            // Reading is bounded too: a child left running with the pipes open would otherwise keep them from ending.
            var output = process.StandardOutput.ReadToEndAsync(limit.Token);
            var error = process.StandardError.ReadToEndAsync(limit.Token);
            await process.WaitForExitAsync(limit.Token);
            return new ProgramResult(process.ExitCode, await output, (await error).Trim());
        }
        catch (OperationCanceledException)
        {
            Stop(process);
            ct.ThrowIfCancellationRequested();
            throw new ExternalProgramTimeoutException(Describe(program, args), timeout);
        }
    }

    /// <summary>The command as a person would type it (for messages; Portal passes no secrets as arguments).</summary>
    public static string Describe(string program, IReadOnlyList<string> args) =>
        string.Join(' ', args.Prepend(Path.GetFileName(program)));

    private static void Stop(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // It ended by itself meanwhile.
        }
    }
}
