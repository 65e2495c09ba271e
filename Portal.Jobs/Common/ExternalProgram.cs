using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

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
/// in a process group of its own. On timeout or cancellation the whole group is asked to stop (SIGTERM, which sudo
/// passes on to a command it runs as root, where Portal's user could not signal it) and then killed, so a hung server
/// tool, or anything it started, can never hold a lock (the mail-state publication's) or a job forever.
/// </summary>
public static partial class ExternalProgram
{
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    /// <summary>util-linux's setsid: the program runs as the leader of a new session and process group (same pid).</summary>
    private const string Setsid = "/usr/bin/setsid";

    public static async Task<ProgramResult> RunAsync(string program, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        var path = Resolve(program);
        var grouped = OperatingSystem.IsLinux() && File.Exists(Setsid);
        var start = new ProcessStartInfo(grouped ? Setsid : path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (grouped)
        {
            start.ArgumentList.Add(path);
        }

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
            Stop(process, grouped);
            ct.ThrowIfCancellationRequested();
            throw new ExternalProgramTimeoutException(Describe(program, args), timeout);
        }
    }

    /// <summary>The command as a person would type it (for messages; Portal passes no secrets as arguments).</summary>
    public static string Describe(string program, IReadOnlyList<string> args) =>
        string.Join(' ', args.Prepend(Path.GetFileName(program)));

    /// <summary>The program's full path (as given, or found on PATH); a missing one is said plainly.</summary>
    private static string Resolve(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? program : throw new ExternalProgramException($"Could not run {program}: there is no such file.");
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists)
            ?? throw new ExternalProgramException($"Could not run {program}: it is not on the PATH.");
    }

    private static void Stop(Process process, bool grouped)
    {
        try
        {
            // The group's leader has the program's pid: -pid reaches every process still in the group.
            var target = grouped ? -process.Id : process.Id;
            if (OperatingSystem.IsLinux() && kill(target, SigTerm) == 0 && process.WaitForExit(StopGrace))
            {
                if (grouped)
                {
                    kill(target, SigKill); // what ignored the request (or outlived its parent) goes now
                }

                return;
            }

            if (grouped)
            {
                kill(target, SigKill);
            }

            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // It ended by itself meanwhile.
        }
    }

    private const int SigTerm = 15;
    private const int SigKill = 9;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
