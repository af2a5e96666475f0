namespace WanBond.Sim;

/// <summary>Helpers for failover experiments: cut one link for a while and watch the timeline.</summary>
public static class FailoverScenario
{
    /// <summary>
    /// Runs <paramref name="scenario"/> with link <paramref name="link"/> cut (both directions, engine not told)
    /// from <paramref name="startS"/> to <paramref name="endS"/> seconds, and returns the per-interval timeline.
    /// </summary>
    public static Timeline RunWithCut(Scenario scenario, int link, double startS, double endS, int intervalMs = 100)
    {
        if (link < 0 || link >= scenario.Links.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(link), link, "no such link");
        }
        var cut = new Scenario
        {
            Links = scenario.Links,
            Workload = scenario.Workload,
            Direction = scenario.Direction,
            Scheduler = scenario.Scheduler,
            CongestionControl = scenario.CongestionControl,
            DurationS = scenario.DurationS,
            Seed = scenario.Seed,
            Cuts = [.. scenario.Cuts, new CutSpec(link, startS, endS)],
            TimelineMs = intervalMs,
            NoTunnel = scenario.NoTunnel,
            TcpSegmentsPerFlow = scenario.TcpSegmentsPerFlow,
        };
        return Simulation.Run(cut).Timeline!;
    }

    /// <summary>Mean goodput (Mbit/s) over the timeline intervals ending in (fromS, toS].</summary>
    public static double MeanGoodput(Timeline timeline, double fromS, double toS)
    {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < timeline.TimeS.Length; i++)
        {
            if (timeline.TimeS[i] > fromS && timeline.TimeS[i] <= toS)
            {
                sum += timeline.GoodputMbps[i];
                n++;
            }
        }
        return n == 0 ? double.NaN : sum / n;
    }
}
