using WanBond.Sim;
using WanBond.Testbed.Emulation;

namespace WanBond.Testbed.Tests;

/// <summary>The emulator's service model, without sockets: the simulator's Mahimahi semantics, exactly.</summary>
public class LinkModelTests
{
    private sealed class Recorder : ILinkSink
    {
        public List<(int Slot, int Size, long DueUs)> Delivered { get; } = [];

        public List<int> LostSlots { get; } = [];

        public void Deliver(int slot, int size, long dueUs) => Delivered.Add((slot, size, dueUs));

        public void Lost(int slot) => LostSlots.Add(slot);
    }

    private static LinkModel Model(MahimahiTrace trace, long delayUs = 0, long queueBytes = 1 << 30, double loss = 0) =>
        new(trace, delayUs, queueBytes, loss, Rng.For(7, 0), 1 << 16);

    /// <summary>Runs every event up to <paramref name="untilUs"/> in order, as the pump would with perfect timing.</summary>
    private static void RunUntil(LinkModel m, Recorder r, long untilUs)
    {
        while (m.NextEventUs <= untilUs)
        {
            m.RunDue(m.NextEventUs, r);
        }
    }

    [Fact]
    public void Constant_trace_has_the_requested_mean_rate()
    {
        Assert.Equal(12e6, TraceSpec.Constant(12).MeanBitsPerSecond, 1);
        Assert.Equal(20.004e6, TraceSpec.Constant(20).MeanBitsPerSecond, 1e3);
        Assert.Equal(1000, TraceSpec.Constant(12).PeriodUs / 1000);
    }

    [Fact]
    public void Full_packets_leave_one_per_opportunity_then_wait_the_delay()
    {
        var m = Model(TraceSpec.Constant(12), delayUs: 20_000); // one opportunity per ms, at 1, 2, 3... ms
        var r = new Recorder();
        for (int i = 0; i < 5; i++)
        {
            Assert.True(m.TryEnqueue(i, 1500, 0));
        }
        RunUntil(m, r, 1_000_000);
        Assert.Equal([21_000L, 22_000, 23_000, 24_000, 25_000], r.Delivered.Select(d => d.DueUs));
        Assert.Equal([0, 1, 2, 3, 4], r.Delivered.Select(d => d.Slot));
    }

    [Fact]
    public void A_packet_may_span_opportunities_and_small_ones_share_one()
    {
        var m = Model(TraceSpec.Constant(12));
        var r = new Recorder();
        m.TryEnqueue(0, 1000, 0);
        m.TryEnqueue(1, 1000, 0); // 500 B of opportunity 1, 500 B of opportunity 2
        m.TryEnqueue(2, 1000, 0); // the rest of opportunity 2
        m.TryEnqueue(3, 100, 0);  // opportunity 3
        RunUntil(m, r, 1_000_000);
        Assert.Equal([1_000L, 2_000, 2_000, 3_000], r.Delivered.Select(d => d.DueUs));
    }

    [Fact]
    public void Opportunities_passed_while_empty_are_lost()
    {
        var m = Model(TraceSpec.Constant(12));
        var r = new Recorder();
        m.TryEnqueue(0, 100, 0);
        RunUntil(m, r, 10_400);
        m.TryEnqueue(1, 1500, 10_500); // the leftover 1400 B of opportunity 1 and opportunities 2..10 are gone
        RunUntil(m, r, 1_000_000);
        Assert.Equal([1_000L, 11_000], r.Delivered.Select(d => d.DueUs));
    }

    [Fact]
    public void Constant_rate_serialises_exactly_and_idles_between_bursts()
    {
        var m = new LinkModel(TraceSpec.Load("const:12"), 20_000, 1 << 30, 0, Rng.For(7, 0), 1024); // 1500 B = 1 ms
        var r = new Recorder();
        for (int i = 0; i < 3; i++)
        {
            m.TryEnqueue(i, 1500, 0);
        }
        RunUntil(m, r, 10_500);
        m.TryEnqueue(3, 100, 10_500); // 100 B = 66.7 µs, from when it arrives
        RunUntil(m, r, 1_000_000);
        Assert.Equal([21_000L, 22_000, 23_000, 30_567], r.Delivered.Select(d => d.DueUs));
        Assert.Equal(12e6, TraceSpec.Load("const:12").BytesBetween(0, 1_000_000) * 8, 1);
    }

    [Fact]
    public void Tail_drop_at_the_byte_limit()
    {
        var m = Model(TraceSpec.Constant(12), queueBytes: 3000);
        Assert.True(m.TryEnqueue(0, 1500, 0));
        Assert.True(m.TryEnqueue(1, 1500, 0));
        Assert.False(m.TryEnqueue(2, 1, 0));
        Assert.Equal(1, m.QueueDrops);
        Assert.Equal(3000, m.QueuedBytes);
        Assert.Equal(30_000, LinkModel.QueueBytesForMs(TraceSpec.Constant(12), 20));
        Assert.Equal(3000, LinkModel.QueueBytesForMs(TraceSpec.Constant(12), 0.1)); // floor: two full packets
    }

    [Fact]
    public void Random_loss_uses_capacity_and_hits_the_configured_share()
    {
        var m = Model(TraceSpec.Constant(1200), loss: 0.1);
        var r = new Recorder();
        for (int i = 0; i < 50_000; i++)
        {
            m.TryEnqueue(i, 1500, 0);
        }
        RunUntil(m, r, long.MaxValue - 1);
        Assert.Equal(50_000, m.CarriedPackets);
        Assert.Equal(m.LossDrops, r.LostSlots.Count);
        Assert.InRange(m.LossDrops / 50_000.0, 0.095, 0.105);
    }

    [Fact]
    public void A_saturated_link_carries_exactly_the_trace_capacity()
    {
        string path = Path.Combine(TraceSpec.BundledDirectories().First(Directory.Exists), "TMobile-LTE-short.down");
        var trace = MahimahiTrace.Load(path);
        var m = Model(trace, delayUs: 30_000);
        var r = new Recorder();
        long end = 200_000_000; // more than one period (140 s), so the wrap is covered
        int slot = 0;
        for (long t = 0; t < end; t += 500)
        {
            while (m.QueuedBytes < 100 * 1500)
            {
                m.TryEnqueue(slot++ & 0xFFFF, 1500, t);
            }
            m.RunDue(t, r);
        }
        long capacity = trace.CountBetween(0, end) * MahimahiTrace.OpportunityBytes;
        Assert.InRange(m.CarriedBytes, capacity - 3000, capacity);
        Assert.All(r.Delivered.Zip(r.Delivered.Skip(1)), p => Assert.True(p.First.DueUs <= p.Second.DueUs));
    }

    [Fact]
    public void Lateness_percentiles_are_nearest_rank()
    {
        var h = new LatenessHistogram();
        for (int i = 1; i <= 100; i++)
        {
            h.Record(i);
        }
        h.Record(-5); // early counts as on time
        Assert.Equal(50, h.PercentileUs(50));
        Assert.Equal(99, h.PercentileUs(99));
        Assert.Equal(100, h.MaxUs);
        Assert.Equal(0, new LatenessHistogram().PercentileUs(50));
    }
}
