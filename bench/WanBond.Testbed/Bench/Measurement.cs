using System.Globalization;
using WanBond.Testbed.Measure;
using WanBond.Testbed.Topology;

namespace WanBond.Testbed.Bench;

/// <summary>What one measurement holds constant besides the links and the system.</summary>
internal sealed record Conditions(string Cc, string Direction, int Flows, double DurationS)
{
    public string Label => string.Create(CultureInfo.InvariantCulture, $"{Cc}-{Direction}-{Flows}f");
}

/// <summary>One link's data direction during a transfer, in bins from the transfer's start.</summary>
internal sealed record LinkSeries(int Link, double[] TimeS, double[] CapacityMbps, double[] CarriedMbps, double MeanCapacityMbps, double MeanCarriedMbps, long QueueDrops);

/// <summary>One transfer of one system over one scenario.</summary>
internal sealed record Measurement(
    string System, string Scenario, Conditions Conditions, int Rep,
    double GoodputMbps, double CapacityMbps, IReadOnlyList<LinkSeries> Links,
    IReadOnlyList<(string Target, double TimeS, double RttMs)> Rtt, int ProbesSent, double TraceOffsetS);

/// <summary>Runs one measurement: fresh emulators, the system, iperf3, probes.</summary>
internal static class Measurer
{
    private const double ProbeIntervalS = 0.1;
    private const int IperfPort = 5201;

    /// <summary>
    /// Every transfer starts this long after its emulators started replaying their traces, so every system
    /// sees the same stretch of trace. A system's set-up runs inside this lead: one link alone is ready at
    /// once, wanbond's daemons after their start and handshake, about a second later. Starting each transfer
    /// as soon as its system was ready gave wanbond a stretch ~1 s further into the traces than the links it
    /// was compared with (4 % less capacity in the bundled 20/80 ms scenario).
    /// </summary>
    public const double TraceLeadS = 3.0;

    /// <summary>A transfer that begins more than this after the lead is reported as late (its system's set-up overran the lead).</summary>
    public const double LateAfterLeadS = 0.5;

    public static Measurement Run(BenchTopology topo, Scenario scenario, IBenchSystem system, Conditions c, int rep, string rawDir, ulong seed)
    {
        Directory.CreateDirectory(rawDir);
        var emulators = topo.StartEmulators(scenario.Links, rawDir, c.DurationS + 120, seed);
        try
        {
            // The first emulator's trace clock started just before it said it was up; the others', a few ms later each.
            double traceStart = emulators[0].StartedUnixS;
            var plan = system.Start(topo);
            try
            {
                return Transfer(topo, scenario, system, c, rep, rawDir, plan, traceStart);
            }
            finally
            {
                system.Stop();
            }
        }
        finally
        {
            foreach (var e in emulators)
            {
                var summary = e.Stop();
                if (summary is { } s)
                {
                    File.WriteAllText(Path.Combine(rawDir, Path.GetFileNameWithoutExtension(e.StatsPath) + "-summary.json"), s.ToString());
                }
                e.Dispose();
            }
        }
    }

    private static Measurement Transfer(BenchTopology topo, Scenario scenario, IBenchSystem system, Conditions c, int rep, string rawDir, TransferPlan plan, double traceStart)
    {
        var ns = topo.Ns;
        foreach (var (pns, target) in plan.Probes)
        {
            Ping.Run(ns, pns, target, 1, 0.2); // resolve ARP across the emulated links before timing anything
        }
        using var server = Iperf.Server(ns, plan.ServerNs, plan.ServerAddress, IperfPort, plan.Wrapper);
        WaitUntil(traceStart + TraceLeadS);
        var probes = plan.Probes.Select(p => (p.Target, Process: Ping.Start(ns, p.Ns, p.Target, ProbeIntervalS, c.DurationS + 5))).ToList();
        double start = UnixNow();
        double traceOffset = Math.Round(start - traceStart, 2);
        if (traceOffset > TraceLeadS + LateAfterLeadS)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench: warning: {system.Name} was ready only {traceOffset:F1} s into the traces (the lead is {TraceLeadS:F1} s): this transfer sees a later stretch of trace than the others"));
        }
        List<string> args = ["-c", plan.ServerAddress, "-p", IperfPort.ToString(CultureInfo.InvariantCulture),
            "-t", c.DurationS.ToString(CultureInfo.InvariantCulture), "-P", c.Flows.ToString(CultureInfo.InvariantCulture),
            // Per socket (iperf3 passes it to the server too, which sends with -R): a child namespace may only
            // switch its default to the host's allowed list, which usually lacks bbr.
            "-C", c.Cc];
        if (c.Direction == "down")
        {
            args.Add("-R");
        }
        System.Text.Json.JsonElement json;
        try
        {
            json = Iperf.Client(ns, plan.ClientNs, args, c.DurationS, plan.Wrapper);
        }
        finally
        {
            foreach (var p in probes)
            {
                p.Process.Stop();
            }
        }
        double end = UnixNow();
        File.WriteAllText(Path.Combine(rawDir, "iperf3.json"), json.ToString());
        double goodput = Iperf.ReceivedMbps(json);
        Iperf.CheckCongestionControl(json, c.Cc);
        var rtt = new List<(string, double, double)>();
        foreach (var (target, process) in probes)
        {
            File.WriteAllText(Path.Combine(rawDir, $"ping-{target}.txt"), process.Stdout);
            rtt.AddRange(Ping.Parse(process.Stdout).Where(s => s.UnixSeconds >= start && s.UnixSeconds <= end).Select(s => (target, s.UnixSeconds - start, s.RttMs)));
            process.Dispose();
        }
        int probesSent = (int)Math.Floor((end - start) / ProbeIntervalS) * probes.Count;
        string dataDir = c.Direction == "down" ? "down" : "up";
        var links = plan.Links.Select(i => ReadSeries(Path.Combine(rawDir, $"link{i}.csv"), i, dataDir, start, end)).ToList();
        return new Measurement(system.Name, scenario.Name, c, rep, goodput, links.Sum(l => l.MeanCapacityMbps), links, rtt, probesSent, traceOffset);
    }

    /// <summary>The emulator's 100 ms bins for one direction inside [start, end], re-binned to 500 ms for the plots.</summary>
    public static LinkSeries ReadSeries(string csv, int link, string dir, double startUnix, double endUnix)
    {
        var rows = new List<(double T, double Cap, double Carried, long Drops)>();
        foreach (var line in File.ReadLines(csv).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length < 8 || f[1] != dir)
            {
                continue;
            }
            double t = double.Parse(f[0], CultureInfo.InvariantCulture) / 1000;
            if (t > startUnix + 0.05 && t <= endUnix + 0.05)
            {
                rows.Add((t - startUnix, double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[6], CultureInfo.InvariantCulture)));
            }
        }
        if (rows.Count == 0)
        {
            return new LinkSeries(link, [], [], [], 0, 0, 0);
        }
        double binS = rows.Count > 1 ? rows[1].T - rows[0].T : 0.1;
        double span = rows.Count * binS;
        const int Group = 5;
        var times = new List<double>();
        var cap = new List<double>();
        var carried = new List<double>();
        for (int i = 0; i < rows.Count; i += Group)
        {
            var g = rows.Skip(i).Take(Group).ToList();
            double s = g.Count * binS;
            times.Add(g[^1].T);
            cap.Add(g.Sum(r => r.Cap) * 8 / s / 1e6);
            carried.Add(g.Sum(r => r.Carried) * 8 / s / 1e6);
        }
        return new LinkSeries(link, [.. times], [.. cap], [.. carried],
            rows.Sum(r => r.Cap) * 8 / span / 1e6, rows.Sum(r => r.Carried) * 8 / span / 1e6, rows.Sum(r => r.Drops));
    }

    private static double UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    private static void WaitUntil(double unixS)
    {
        double wait = unixS - UnixNow();
        if (wait > 0)
        {
            Shell.Aborted.WaitHandle.WaitOne(TimeSpan.FromSeconds(wait));
            Shell.Aborted.ThrowIfCancellationRequested();
        }
    }
}
