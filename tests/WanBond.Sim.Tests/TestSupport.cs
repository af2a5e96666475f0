using WanBond.Core.Buffers;

namespace WanBond.Sim.Tests;

/// <summary>Temporary trace files, deleted with the fixture.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "wanbond-sim-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, string content)
    {
        string p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(p, content);
        return p;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Runs a child process (the CLI, a script) to its end, bounded in time.</summary>
internal static class ChildProcess
{
    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, int timeoutMs = 120_000)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {timeoutMs} ms");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>Drives one <see cref="LinkDirection"/> on its own, recording when packets arrive.</summary>
internal sealed class LinkHarness
{
    public LinkHarness(MahimahiTrace? trace, double rateMbps, long delayUs, double queueMs, double loss = 0, ulong seed = 1, (long, long)[]? cuts = null)
    {
        Link = new LinkDirection(0, trace, rateMbps, delayUs, queueMs, loss, 0, cuts ?? [], Rng.For(seed, 0), Events, Pool);
    }

    public EventQueue Events { get; } = new();

    public PacketPool Pool { get; } = new();

    public LinkDirection Link { get; }

    public List<(long TimeUs, int Length)> Arrivals { get; } = [];

    public void Send(int length, long nowUs)
    {
        var p = Pool.Rent();
        p.Length = length;
        Link.Enqueue(p, nowUs);
    }

    /// <summary>Runs events up to <paramref name="untilUs"/>; <paramref name="before"/> runs first at each event's time.</summary>
    public void Run(long untilUs, Action<long>? before = null)
    {
        while (Events.Count > 0 && Events.PeekTime <= untilUs)
        {
            var e = Events.Pop();
            before?.Invoke(e.TimeUs);
            if (e.Kind == EventKind.LinkService)
            {
                Link.OnService(e.TimeUs);
            }
            else if (e.Kind == EventKind.LinkArrival)
            {
                Arrivals.Add((e.TimeUs, e.Packet!.Length));
                Pool.Return(e.Packet);
            }
        }
    }
}

internal static class Scenarios
{
    public static Scenario RateLink(double mbps, double delayMs, double queueMs, double loss, WorkloadSpec workload, double durationS, bool noTunnel = true, ulong seed = 1) => new()
    {
        Links = [new LinkSpec(null, null, mbps, delayMs, queueMs, loss)],
        Workload = workload,
        DurationS = durationS,
        NoTunnel = noTunnel,
        Seed = seed,
    };
}
