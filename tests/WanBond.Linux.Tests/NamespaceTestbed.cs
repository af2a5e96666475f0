using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace WanBond.Linux.Tests;

/// <summary>Skips unless the test can build network namespaces (root, `ip netns`, nft, iperf3) and find the built CLI.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        var reason = NamespaceTestbed.WhyUnavailable();
        if (reason is not null)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// The namespace testbed (bench/netns-testbed.sh) under a unique prefix, torn down on dispose, plus helpers
/// to run commands inside it. Nothing in it connects to the host's network.
/// </summary>
public sealed class NamespaceTestbed : IDisposable
{
    private static readonly Lazy<string?> Unavailable = new(Probe);
    private readonly List<Process> _processes = [];

    public NamespaceTestbed(int links = 2)
    {
        Prefix = "wbe" + Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next())).ToLowerInvariant()[..6];
        Directory = System.IO.Directory.CreateTempSubdirectory("wanbond-e2e-").FullName;
        RunDirectory = $"/run/{Prefix}";
        try
        {
            Run("bash", Script, "up", Prefix, links.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Script => Path.Combine(RepoRoot, "bench", "netns-testbed.sh");

    public static string CliDll
    {
        get
        {
            var config = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
            return Path.Combine(RepoRoot, "src", "WanBond", "bin", config, "net10.0", "wanbond.dll");
        }
    }

    public string Prefix { get; }

    public string Directory { get; }

    public string RunDirectory { get; }

    public string Ns(string role) => $"{Prefix}-{role}";

    public static string? WhyUnavailable() => Unavailable.Value;

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespace tests run on Linux only";
        }
        if (!Environment.IsPrivilegedProcess)
        {
            return "network namespace tests need root (they create namespaces, veth pairs, TUN devices)";
        }
        foreach (var tool in new[] { "ip", "nft", "iperf3" })
        {
            if (TryRun("sh", "-c", $"command -v {tool}").Code != 0)
            {
                return $"network namespace tests need {tool} (apt-get install iproute2 nftables iperf3)";
            }
        }
        var probe = "wbprobe" + Environment.ProcessId;
        var (code, _, err) = TryRun("ip", "netns", "add", probe);
        TryRun("ip", "netns", "del", probe);
        if (code != 0)
        {
            return $"`ip netns add` does not work here: {err.Trim()}";
        }
        if (!File.Exists("/dev/net/tun"))
        {
            return "no /dev/net/tun: TUN devices are unavailable";
        }
        if (!File.Exists(CliDll))
        {
            return $"the wanbond CLI is not built ({CliDll}); build the solution first";
        }
        return null;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "WanBond.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("cannot find WanBond.sln above " + AppContext.BaseDirectory);
    }

    public static (int Code, string Output, string Error) TryRun(string program, params string[] args) => TryRunTimed(TimeSpan.FromSeconds(60), program, args);

    public static (int Code, string Output, string Error) TryRunTimed(TimeSpan timeout, string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, output.Result, $"timed out after {timeout.TotalSeconds} s: {program} {string.Join(' ', args)}\n{error.Result}");
        }
        p.WaitForExit();
        return (p.ExitCode, output.Result, error.Result);
    }

    /// <summary>Runs a program with <paramref name="input"/> on its standard input.</summary>
    public static (int Code, string Output, string Error) TryRunWithInput(string input, string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, output.Result, "timed out: " + error.Result);
        }
        p.WaitForExit();
        return (p.ExitCode, output.Result, error.Result);
    }

    public static string Run(string program, params string[] args)
    {
        var (code, output, error) = TryRun(program, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {code}: {error}{output}");
        }
        return output;
    }

    /// <summary>Runs a command inside a namespace of the testbed.</summary>
    public (int Code, string Output, string Error) In(string role, TimeSpan timeout, params string[] command) =>
        TryRunTimed(timeout, "ip", ["netns", "exec", Ns(role), .. command]);

    /// <summary>Starts a long-running process in a namespace, output to a log file; killed on dispose if still running.</summary>
    public Process Start(string role, string logName, params string[] command)
    {
        var log = Path.Combine(Directory, logName);
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", Ns(role) }.Concat(command))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        var writer = new StreamWriter(log, append: true, Encoding.UTF8) { AutoFlush = true };
        var sync = new object();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (sync) { writer.WriteLine(e.Data); } } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (sync) { writer.WriteLine(e.Data); } } };
        p.EnableRaisingEvents = true;
        p.Exited += (_, _) => { lock (sync) { writer.Flush(); } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    public string Log(string logName)
    {
        var path = Path.Combine(Directory, logName);
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>SIGTERM, as systemctl stop sends it.</summary>
    public static void Terminate(Process p)
    {
        if (!p.HasExited)
        {
            TryRun("kill", "-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        TryRun("bash", Script, "down", Prefix);
        try
        {
            System.IO.Directory.Delete(RunDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
    /// <summary><c>wanbond status --json</c> of the router or proxy daemon running in this testbed.</summary>
    public JsonElement Status(string role)
    {
        var (code, output, error) = TryRunTimed(TimeSpan.FromSeconds(20), "dotnet", CliDll, "status", "--json", "--socket", $"{RunDirectory}/{role}.sock");
        if (code != 0)
        {
            throw new InvalidOperationException($"wanbond status ({role}) exited {code}: {error}");
        }
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    /// <summary>Polls a status until it has a session and <paramref name="done"/> holds, or throws after <paramref name="timeout"/>.</summary>
    public static JsonElement WaitFor(Func<JsonElement> get, Func<JsonElement, bool> done, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        Exception? last = null;
        while (sw.Elapsed < timeout)
        {
            try
            {
                var value = get();
                if (value.GetProperty("sessions").GetArrayLength() > 0 && done(value))
                {
                    return value;
                }
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException)
            {
                last = e;
            }
            Thread.Sleep(300);
        }
        throw new TimeoutException($"no {what} within {timeout.TotalSeconds} s ({last?.Message})");
    }
}
