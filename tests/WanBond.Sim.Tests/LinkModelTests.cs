namespace WanBond.Sim.Tests;

public class LinkModelTests
{
    [Fact]
    public void Constant_rate_link_adds_serialisation_then_exactly_the_configured_delay()
    {
        // 12 Mbit/s: 1500 B take exactly 1000 µs.
        var h = new LinkHarness(null, 12, delayUs: 25_000, queueMs: 200);
        h.Send(1500, 0);
        h.Send(1500, 0);
        h.Run(1_000_000);
        Assert.Equal([(26_000L, 1500), (27_000L, 1500)], h.Arrivals);
    }

    [Fact]
    public void Trace_link_delivers_at_the_opportunity_plus_the_delay()
    {
        var h = new LinkHarness(MahimahiTrace.Parse("t", "5\n10\n"), 0, delayUs: 30_000, queueMs: 1000);
        h.Send(1500, 0);
        h.Send(1500, 0);
        h.Run(1_000_000);
        Assert.Equal([(35_000L, 1500), (40_000L, 1500)], h.Arrivals);
    }

    [Fact]
    public void Trace_budget_spans_packets_and_unused_budget_is_lost()
    {
        // Opportunities at 1, 2, 3, ... ms.
        var h = new LinkHarness(MahimahiTrace.Parse("t", "1\n"), 0, delayUs: 0, queueMs: 1000);
        h.Send(1000, 0);
        h.Send(1000, 0); // 500 B at 1 ms, the rest at 2 ms
        h.Run(2_500);
        Assert.Equal([(1_000L, 1000), (2_000L, 1000)], h.Arrivals);
        // The queue was empty from 2 ms on: the budgets of 2 ms (leftover) and 3 ms are gone.
        h.Send(1500, 3_500);
        h.Run(10_000);
        Assert.Equal((4_000L, 1500), h.Arrivals[2]);
    }

    [Fact]
    public void Constant_rate_link_delivers_its_rate_within_one_percent()
    {
        var r = Simulation.Run(Scenarios.RateLink(10, 20, 200, 0, new WorkloadSpec(WorkloadKind.Bulk), 10));
        Assert.Equal(10, r.CapacityMbps, 9);
        Assert.InRange(r.Paths[0].CarriedMbps, 9.9, 10.1);
        Assert.InRange(r.GoodputMbps, 9.9, 10.1);
        Assert.Equal(0, r.LinkQueueDrops);
    }

    [Fact]
    public void Queue_limit_in_ms_becomes_bytes_at_the_mean_rate_and_drops_the_tail()
    {
        // 12 Mbit/s × 10 ms = 15 000 B = ten 1500 B packets.
        var h = new LinkHarness(null, 12, delayUs: 0, queueMs: 10);
        Assert.Equal(15_000, h.Link.QueueLimitBytes);
        for (int i = 0; i < 20; i++)
        {
            h.Send(1500, 0);
        }
        Assert.Equal(10, h.Link.QueueDrops);
        h.Run(1_000_000);
        Assert.Equal(10, h.Arrivals.Count);
    }

    [Fact]
    public void Trace_queue_limit_uses_the_trace_mean_rate()
    {
        // "1" = 12 Mbit/s; 100 ms → 150 000 B.
        var h = new LinkHarness(MahimahiTrace.Parse("t", "1\n"), 0, delayUs: 0, queueMs: 100);
        Assert.Equal(150_000, h.Link.QueueLimitBytes);
    }

    [Fact]
    public void Cbr_over_a_link_slower_than_the_offered_load_drops_at_the_queue()
    {
        var r = Simulation.Run(Scenarios.RateLink(5, 10, 50, 0, new WorkloadSpec(WorkloadKind.Cbr, CbrMbps: 10), 5));
        Assert.True(r.LinkQueueDrops > 1000, $"drops {r.LinkQueueDrops}");
        Assert.InRange(r.GoodputMbps, 4.9, 5.05);
    }

    [Fact]
    public void Random_loss_rate_is_within_tolerance_over_many_packets()
    {
        const int Packets = 100_000;
        var h = new LinkHarness(null, 1000, delayUs: 1_000, queueMs: 10_000, loss: 0.1, seed: 7);
        int sent = 0;
        // Keep a few packets queued; 1000 Mbit/s serves 100 000 packets of 1250 B in one second.
        for (; sent < 100; sent++)
        {
            h.Send(1250, 0);
        }
        h.Run(long.MaxValue, now =>
        {
            while (h.Link.QueuedBytes < 50 * 1250 && sent < Packets)
            {
                h.Send(1250, now);
                sent++;
            }
        });
        Assert.Equal(Packets, h.Link.CarriedPackets);
        double rate = (double)h.Link.LossDrops / Packets;
        Assert.InRange(rate, 0.095, 0.105); // ±5 σ
        Assert.Equal(Packets - h.Link.LossDrops, h.Arrivals.Count);
    }

    [Fact]
    public void Cut_window_stops_the_link_and_queued_packets_wait()
    {
        var h = new LinkHarness(null, 12, delayUs: 0, queueMs: 1000, cuts: [(10_000, 50_000)]);
        h.Send(1500, 20_000);
        h.Run(1_000_000);
        Assert.Equal((51_000L, 1500), h.Arrivals[0]);

        var t = new LinkHarness(MahimahiTrace.Parse("t", "1\n"), 0, delayUs: 0, queueMs: 1000, cuts: [(10_000, 50_000)]);
        t.Send(1500, 20_000);
        t.Run(1_000_000);
        Assert.Equal((50_000L, 1500), t.Arrivals[0]);
    }

    [Fact]
    public void Capacity_excludes_cut_windows()
    {
        var s = new Scenario
        {
            Links = [new LinkSpec(null, null, 10, 10, 200, 0), new LinkSpec(null, null, 10, 10, 200, 0)],
            DurationS = 10,
            Cuts = [new CutSpec(1, 2, 4)],
        };
        var r = Simulation.Run(s);
        Assert.Equal(10, r.Paths[0].CapacityMbps, 9);
        Assert.Equal(8, r.Paths[1].CapacityMbps, 9);
        Assert.Equal(18, r.CapacityMbps, 9);
    }

    [Fact]
    public void Steady_state_allocates_no_packet_buffers_per_packet()
    {
        var sim = new Simulation(Scenarios.RateLink(50, 30, 200, 0, new WorkloadSpec(WorkloadKind.Bulk), 20));
        var r = sim.Run();
        Assert.True(r.DeliveredPackets > 50_000, $"delivered {r.DeliveredPackets}");
        Assert.True(sim.PacketBuffersCreated < 2_000, $"created {sim.PacketBuffersCreated}");
    }
}
