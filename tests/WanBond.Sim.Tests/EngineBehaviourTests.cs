using WanBond.Core.Sessions;

namespace WanBond.Sim.Tests;

/// <summary>
/// What the engine must achieve, checked in the deterministic simulator (same inputs, same result:
/// these are not timing tests). The figures for the full matrix are in docs/sim-matrix.md.
/// </summary>
public class EngineBehaviourTests
{
    private static readonly string Traces = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "traces"));

    private static Scenario Parse(params string[] args)
    {
        var links = new List<string>();
        var rates = new List<string>();
        var cuts = new List<string>();
        string? workload = null, scheduler = null, duration = null;
        for (int i = 0; i < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--link": links.Add(args[i + 1]); break;
                case "--link-rate": rates.Add(args[i + 1]); break;
                case "--cut": cuts.Add(args[i + 1]); break;
                case "--workload": workload = args[i + 1]; break;
                case "--scheduler": scheduler = args[i + 1]; break;
                case "--duration": duration = args[i + 1]; break;
                default: throw new ArgumentException(args[i]);
            }
        }
        return new ScenarioParser(Traces).Parse(new SimArguments
        {
            Links = links,
            LinkRates = rates,
            Cuts = cuts,
            Workload = workload,
            Scheduler = scheduler,
            Duration = duration,
            Timeline = "250",
        });
    }

    [Fact]
    public void Bulk_over_constant_10_and_20_Mbit_links_reaches_95_percent_of_capacity_with_short_delay()
    {
        var r = Simulation.Run(Parse("--link-rate", "10,30", "--link-rate", "20,30", "--duration", "30"));
        Assert.True(r.Efficiency >= 0.95, $"efficiency {r.Efficiency:F3}");
        Assert.True(r.DelayP95Ms <= 30 + 50, $"p95 delay {r.DelayP95Ms} ms");
        Assert.InRange(r.Paths[1].Share, 0.6, 0.73); // the split follows capacity (2:1)
    }

    [Fact]
    public void A_cut_link_fails_over_within_a_second_loses_nothing_and_rejoins_when_it_answers()
    {
        // Link 1 (20 Mbit/s) carries nothing from 10 s to 15 s; the engine is not told.
        var sim = new Simulation(Parse("--link-rate", "10,30", "--link-rate", "20,30", "--cut", "1@10-15", "--duration", "20"));
        var r = sim.Run();
        var t = r.Timeline!;
        // Within 1 s of the cut the tunnel carries the surviving 10 Mbit/s link's worth again
        // (inner bytes are 1440 of every 1500 on the wire).
        var after = FailoverScenario.MeanGoodput(t, 11, 15);
        Assert.True(after >= 0.9 * 10 * 0.96, $"goodput after failover {after:F2} Mbit/s");
        // Nothing the sender put in flight on the dead link was lost: the receiver never released past a hole.
        Assert.Equal(0, r.Engine!.ReorderSkipped);
        Assert.True(r.Engine.Repaired > 0, "the dead link's packets were sent again elsewhere");
        // When the link answers again it carries data again.
        var rejoined = 0.0;
        for (int i = 0; i < t.TimeS.Length; i++)
        {
            if (t.TimeS[i] > 17)
            {
                rejoined += t.PathMbps[1][i];
            }
        }
        Assert.True(rejoined > 0, "link 1 carries data after it comes back");
        Assert.True(FailoverScenario.MeanGoodput(t, 17, 20) >= 0.9 * 30 * 0.96 * 0.9, "both links in use again");
    }

    [Fact]
    public void A_link_that_stays_dead_is_declared_down_and_the_tcp_connection_survives()
    {
        var sim = new Simulation(Parse("--link-rate", "10,30", "--link-rate", "20,30", "--cut", "1@8", "--workload", "tcp:1", "--duration", "20"));
        var r = sim.Run();
        Assert.False(sim.DataSender.Session!.GetPathStats(1).IsUp, "the dead path is down");
        Assert.True(sim.DataSender.Session!.GetPathStats(0).IsUp);
        var after = FailoverScenario.MeanGoodput(r.Timeline!, 10, 20);
        Assert.True(after >= 0.6 * 10, $"inner TCP goes on over the surviving link: {after:F2} Mbit/s");
    }

    [Fact]
    public void A_single_link_waits_out_its_stalls_instead_of_copying_its_packets_onto_itself()
    {
        // The T-Mobile trace stops delivering for hundreds of ms at a time. A copy of a stuck packet could only
        // queue behind it on the same link (before: 4,446 copies in 60 s, 4,407 of them refused as duplicates).
        var r = Simulation.Run(Parse("--link", "TMobile-LTE-short,30", "--duration", "30"));
        var e = r.Engine!;
        Assert.True(e.Repaired <= e.TunnelLost, $"only losses are sent again: {e.Repaired} repaired, {e.TunnelLost} lost");
        Assert.True(e.Rejected <= e.TunnelLost, $"{e.Rejected} duplicates reached the receiver");
    }

    [Fact]
    public void Copies_of_late_packets_are_withheld_when_the_original_gets_through_first()
    {
        var r = Simulation.Run(Parse("--link", "TMobile-LTE-short,30", "--link", "Verizon-LTE-short,30", "--duration", "30"));
        var e = r.Engine!;
        Assert.True(e.RepairsWithheld > 0, "no copy was withheld");
        // What is still sent twice stays a small part of the traffic.
        Assert.True(e.Rejected < 0.05 * r.DeliveredPackets, $"{e.Rejected} duplicates for {r.DeliveredPackets} packets delivered");
    }

    [Fact]
    public void Adaptive_gives_inner_tcp_far_more_than_the_gobonding_style_weighted_split_on_traces()
    {
        var adaptive = Simulation.Run(Parse("--link", "TMobile-LTE-short,30", "--link", "Verizon-LTE-short,30", "--workload", "tcp:1", "--duration", "30"));
        var weighted = Simulation.Run(Parse("--link", "TMobile-LTE-short,30", "--link", "Verizon-LTE-short,30", "--workload", "tcp:1", "--scheduler", "weighted", "--duration", "30"));
        Assert.True(adaptive.GoodputMbps >= 1.3 * weighted.GoodputMbps, $"adaptive {adaptive.GoodputMbps:F2} vs weighted {weighted.GoodputMbps:F2}");
    }

    [Fact]
    public void The_sender_allocates_no_packet_buffers_per_packet_in_steady_state()
    {
        var sim = new Simulation(Parse("--link-rate", "10,30", "--link-rate", "20,30", "--duration", "10"));
        sim.Run();
        var created = sim.DataSender.Session!.BuffersCreated;
        var sim2 = new Simulation(Parse("--link-rate", "10,30", "--link-rate", "20,30", "--duration", "30"));
        sim2.Run();
        // Three times the packets, the same pool: buffers are reused, not allocated per packet.
        Assert.InRange(sim2.DataSender.Session!.BuffersCreated, 1, created + 64);
    }

    [Theory]
    [InlineData(SchedulerKind.RoundRobin)]
    [InlineData(SchedulerKind.MinRtt)]
    [InlineData(SchedulerKind.Weighted)]
    public void Every_baseline_scheduler_delivers_over_two_links(SchedulerKind kind)
    {
        var r = Simulation.Run(Parse("--link-rate", "10,30", "--link-rate", "20,30", "--scheduler", kind.ToString().ToLowerInvariant(), "--duration", "10"));
        Assert.True(r.GoodputMbps > 10, $"{kind}: {r.GoodputMbps:F2} Mbit/s");
        Assert.All(r.Paths, p => Assert.True(p.Share > 0.1, $"{kind} uses path {p.Path}"));
    }
}

public class CongestionControlComparisonTests
{
    [Fact]
    public void The_delay_controller_keeps_the_modem_queues_shorter_than_loss_based_reno()
    {
        var delay = Simulation.Run(new ScenarioParser(DeterminismTests.BundledTraces).Parse(new SimArguments { LinkRates = ["10,30", "20,30"], Duration = "20" }));
        var reno = Simulation.Run(new ScenarioParser(DeterminismTests.BundledTraces).Parse(new SimArguments { LinkRates = ["10,30", "20,30"], Duration = "20", CongestionControl = "reno" }));
        // Same links, same bulk sender: reno fills the 200 ms buffers, the delay controller stays near its target.
        Assert.True(reno.Paths[0].RttP50Ms > delay.Paths[0].RttP50Ms + 50, $"reno RTT {reno.Paths[0].RttP50Ms} ms vs delay {delay.Paths[0].RttP50Ms} ms");
        Assert.True(delay.Efficiency >= 0.95 * reno.Efficiency, $"delay {delay.Efficiency:F3} vs reno {reno.Efficiency:F3}");
    }
}
