using System.Diagnostics;
using System.Text;

namespace WanBond.Testbed.Topology;

/// <summary>A command that failed: exit code and what it said.</summary>
internal sealed class CommandException : Exception
{
    public CommandException()
    {
    }

    public CommandException(string message)
        : base(message)
    {
    }

    public CommandException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Runs programs directly (no shell, so nothing is re-parsed), always with a time limit.</summary>
internal static class Shell
{
    private static readonly CancellationTokenSource AbortSource = new();

    /// <summary>Set on SIGINT/SIGTERM: every wait ends at once (the process is killed) so teardown can run.</summary>
    public static CancellationToken Aborted => AbortSource.Token;

    public static void Abort() => AbortSource.Cancel();

    /// <summary>Runs to completion; throws <see cref="CommandException"/> on a non-zero exit or time-out.</summary>
    public static string Run(string program, IEnumerable<string> args, TimeSpan? timeout = null, bool check = true, bool abortable = true)
    {
        var (code, stdout, stderr) = Capture(program, args, timeout ?? TimeSpan.FromSeconds(30), abortable);
        if (check && code != 0)
        {
            throw new CommandException($"{Describe(program, args)} exited {code}: {stderr.Trim()} {stdout.Trim()}".Trim());
        }
        return stdout;
    }

    /// <summary>
    /// Runs to completion or time-out. <paramref name="abortable"/>: also stop at <see cref="Abort"/> (false for
    /// teardown, which must run to the end precisely when the run was aborted).
    /// </summary>
    public static (int Code, string Stdout, string Stderr) Capture(string program, IEnumerable<string> args, TimeSpan timeout, bool abortable = true)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new CommandException($"cannot start {program}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            p.WaitForExitAsync(abortable ? Aborted : CancellationToken.None).Wait(timeout);
        }
        catch (AggregateException e) when (e.InnerException is OperationCanceledException)
        {
            // aborted: killed below
        }
        if (!p.HasExited)
        {
            try
            {
                p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
            p.WaitForExit();
            if (abortable)
            {
                Aborted.ThrowIfCancellationRequested();
            }
            throw new CommandException($"{Describe(program, psi.ArgumentList)} did not finish within {timeout.TotalSeconds:F0} s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static bool Exists(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin").Append("/sbin")
            .Any(d => File.Exists(System.IO.Path.Combine(d, program)));

    public static string Describe(string program, IEnumerable<string> args)
    {
        var sb = new StringBuilder(program);
        foreach (var a in args)
        {
            sb.Append(' ').Append(a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a);
        }
        return sb.ToString();
    }
}

/// <summary>
/// A long-running program (emulator, iperf3 server, ping probe). Its output is collected in the
/// background; <see cref="Stop"/> sends SIGTERM to this process id only, then SIGKILL after a grace period.
/// </summary>
internal sealed partial class BackgroundProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _firstStderrLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BackgroundProcess(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Description = Shell.Describe(program, psi.ArgumentList);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stdout)
                {
                    _stdout.Append(e.Data).Append('\n');
                }
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.Append(e.Data).Append('\n');
                }
                _firstStderrLine.TrySetResult();
            }
        };
        if (!_process.Start())
        {
            throw new CommandException($"cannot start {Description}");
        }
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Description { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Waits for the first line on stderr (the emulator's "ready" line) or an early exit.</summary>
    public bool WaitForStderrLine(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        Task.WaitAny([_firstStderrLine.Task, exited], timeout);
        return _firstStderrLine.Task.IsCompleted && !_process.HasExited;
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }
        _process.WaitForExit(); // flush the async readers
        return true;
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited within <paramref name="grace"/>.</summary>
    public void Stop(TimeSpan? grace = null)
    {
        if (_process.HasExited)
        {
            _process.WaitForExit();
            return;
        }
        _ = Kill(_process.Id, 15);
        if (!WaitForExit(grace ?? TimeSpan.FromSeconds(3)))
        {
            try
            {
                _process.Kill();
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Stop(TimeSpan.FromSeconds(1));
        _process.Dispose();
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
