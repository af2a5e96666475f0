using System.Diagnostics;

namespace WanBond.Linux.Network;

/// <summary>A network set-up step that failed: the command and what it said.</summary>
public sealed class NetworkSetupException : Exception
{
    public NetworkSetupException()
    {
    }

    public NetworkSetupException(string message)
        : base(message)
    {
    }

    public NetworkSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Runs `ip`, `nft` and friends; a failure becomes one line naming the command and its error output.</summary>
public class CommandRunner
{
    /// <summary>Every command run, for tests and debug logs.</summary>
    public List<string> History { get; } = [];

    public virtual (int ExitCode, string Output, string Error) TryRun(string program, IReadOnlyList<string> args, string? stdin = null)
    {
        var line = program + " " + string.Join(' ', args);
        lock (History)
        {
            History.Add(line);
        }
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new NetworkSetupException($"{line}: could not start {program}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new NetworkSetupException($"{program} is not installed or not runnable ({e.Message}); install iproute2 and nftables");
        }
        using (process)
        {
            if (stdin is not null)
            {
                process.StandardInput.Write(stdin);
                process.StandardInput.Close();
            }
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(30_000))
            {
                process.Kill(entireProcessTree: true);
                throw new NetworkSetupException($"{line}: timed out after 30 s");
            }
            return (process.ExitCode, output.Result, error.Result.Trim());
        }
    }

    public string Run(string program, params string[] args) => RunWithInput(program, null, args);

    public string RunWithInput(string program, string? stdin, params string[] args)
    {
        var (code, output, error) = TryRun(program, args, stdin);
        if (code != 0)
        {
            var first = error.Split('\n', 2)[0];
            throw new NetworkSetupException($"`{program} {string.Join(' ', args)}` failed: {(first.Length > 0 ? first : "exit code " + code)}");
        }
        return output;
    }
}
