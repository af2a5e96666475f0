namespace WanBond.Sim.Tests;

public class TcpModelTests
{
    [Fact]
    public void Single_newreno_flow_fills_a_constant_link_with_a_deep_queue()
    {
        // 10 Mbit/s, 30 ms one way (BDP ≈ 50 packets), 200 ms queue (≈ 167 packets).
        var r = Simulation.Run(Scenarios.RateLink(10, 30, 200, 0, new WorkloadSpec(WorkloadKind.Tcp, TcpFlows: 1), 60));
        Assert.True(r.GoodputMbps >= 0.9 * r.CapacityMbps, $"goodput {r.GoodputMbps} of {r.CapacityMbps}");
    }

    [Fact]
    public void Lossy_link_causes_retransmits_and_still_delivers_every_byte_in_order()
    {
        const int Segments = 3000;
        var s = new Scenario
        {
            Links = [new LinkSpec(null, null, 10, 20, 200, 0.02)],
            Workload = new WorkloadSpec(WorkloadKind.Tcp, TcpFlows: 2),
            DurationS = 60,
            NoTunnel = true,
            TcpSegmentsPerFlow = Segments,
        };
        var r = Simulation.Run(s);
        Assert.True(r.InnerRetransmits > 50, $"retransmits {r.InnerRetransmits}");
        Assert.True(r.LinkLossDrops > 50);
        // Goodput counts only new in-order segments; every one of both flows' segments arrived.
        Assert.Equal(2 * Segments, r.DeliveredPackets);
        Assert.Equal(2L * Segments * Endpoint.DirectMtu, (long)Math.Round(r.GoodputMbps * 1e6 / 8 * 60));
    }

    [Fact]
    public void HyStart_ends_slow_start_before_the_queue_overflows()
    {
        // 20 Mbit/s, 30 ms one way, 200 ms queue: plain slow start overshoots the queue and, without SACK, loses
        // hundreds of segments; HyStart sees the RTT rise and stops doubling first.
        Scenario Link(bool hyStart) => new()
        {
            Links = [new LinkSpec(null, null, 20, 30, 200, 0)],
            Workload = new WorkloadSpec(WorkloadKind.Tcp, TcpFlows: 1),
            DurationS = 10,
            NoTunnel = true,
            HyStart = hyStart,
        };
        var plain = Simulation.Run(Link(false));
        var hyStart = Simulation.Run(Link(true));
        Assert.True(plain.InnerRetransmits > 100, $"plain slow start: {plain.InnerRetransmits} retransmits");
        Assert.True(plain.InnerFastRecoveries + plain.InnerTimeouts >= 1, "the overshoot is a loss event");
        Assert.Equal(0, hyStart.InnerRetransmits);
        Assert.Equal(0, hyStart.InnerFastRecoveries + hyStart.InnerTimeouts);
        Assert.True(hyStart.GoodputMbps >= 0.9 * hyStart.CapacityMbps, $"goodput {hyStart.GoodputMbps} of {hyStart.CapacityMbps}");
        Assert.True(hyStart.LinkQueueDrops == 0, $"queue drops {hyStart.LinkQueueDrops}");
    }

    [Fact]
    public void Several_flows_share_a_link_and_fill_it()
    {
        var r = Simulation.Run(Scenarios.RateLink(20, 20, 100, 0, new WorkloadSpec(WorkloadKind.Tcp, TcpFlows: 4), 30));
        Assert.True(r.GoodputMbps >= 0.85 * r.CapacityMbps, $"goodput {r.GoodputMbps} of {r.CapacityMbps}");
        Assert.True(r.LinkQueueDrops > 0); // NewReno probes until the queue overflows
    }

    [Fact]
    public void Tcp_runs_through_the_tunnel_in_both_directions()
    {
        foreach (var direction in new[] { DataDirection.Down, DataDirection.Up })
        {
            var s = new Scenario
            {
                Links = [new LinkSpec(null, null, 10, 20, 200, 0), new LinkSpec(null, null, 10, 20, 200, 0)],
                Workload = new WorkloadSpec(WorkloadKind.Tcp, TcpFlows: 1),
                Direction = direction,
                DurationS = 10,
            };
            var r = Simulation.Run(s);
            Assert.True(r.GoodputMbps > 1, $"{direction}: goodput {r.GoodputMbps}");
            Assert.True(r.Paths.Sum(p => p.CarriedMbps) > 1);
        }
    }

    [Fact]
    public void A_longer_backlog_in_the_link_queue_buys_capacity_with_delay()
    {
        // T-Mobile's trace delivers in bursts of many packets per millisecond: a sender that keeps only 4 packets in
        // the link's queue misses much of each burst, 8 catch most of it, and every extra packet waits.
        SimResult Run(int backlog) => Simulation.Run(new ScenarioParser(DeterminismTests.BundledTraces).Parse(
            new SimArguments { Links = ["TMobile-LTE-short,30"], NoTunnel = true, Duration = "20", Backlog = backlog.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        var four = Run(4);
        var eight = Run(8);
        Assert.Equal(8, eight.Scenario.BacklogPackets);
        Assert.True(eight.Efficiency > four.Efficiency + 0.05, $"efficiency {four.Efficiency} with 4, {eight.Efficiency} with 8");
        Assert.True(eight.DelayP50Ms > four.DelayP50Ms, $"delay p50 {four.DelayP50Ms} with 4, {eight.DelayP50Ms} with 8");
    }
}
