using CsCheck;
using WanBond.Core.Buffers;
using WanBond.Core.Reorder;

namespace WanBond.Core.Tests.Reorder;

/// <summary>Express packets: released on arrival ahead of other flows' holes, never ahead of their own flow.</summary>
public class ExpressReleaseTests : ReorderBufferTestBase
{
    private const long Forever = long.MaxValue / 4;

    [Fact]
    public void An_express_packet_overtakes_another_flows_hole_and_its_gseq_is_not_released_twice()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = Forever };
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(1, 0, P(1), 0, flow: 1));
        Assert.Equal(InsertOutcome.Express, rb.Insert(2, 0, P(2), 5, flow: 2, express: true));
        Assert.Equal(1, rb.Count); // the express packet is not held
        Assert.Equal(5, rb.NextDeadlineUs(5));
        Assert.Equal([2], Drain(rb, 5)); // gseq 0 (on path 1) is still awaited
        Assert.Equal(1, rb.ReleasedExpress);
        // A second copy of the express packet is a duplicate, before and after the head passes it.
        Assert.Equal(InsertOutcome.Duplicate, rb.Insert(2, 1, P(2), 6, flow: 2, express: true));
        rb.Insert(0, 1, P(0), 7, flow: 1);
        Assert.Equal([0, 1], Drain(rb, 7));
        Assert.Equal(3, rb.NextExpected);
        Assert.Equal(InsertOutcome.Duplicate, rb.Insert(2, 1, P(2), 8, flow: 2, express: true));
        Assert.Equal(3, rb.Released);
        Assert.Equal(0, Pool.Outstanding);
    }

    [Fact]
    public void An_express_packet_waits_behind_a_held_packet_of_its_own_flow()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = Forever };
        rb.Insert(1, 0, P(1), 0, flow: 4);
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(2, 0, P(2), 1, flow: 4, express: true));
        Assert.Empty(Drain(rb, 2));
        rb.Insert(0, 1, P(0), 3, flow: 9);
        Assert.Equal([0, 1, 2], Drain(rb, 3));
        Assert.Equal(0, rb.ReleasedExpress);
    }

    [Fact]
    public void The_next_expected_gseq_is_released_in_order_even_when_express()
    {
        var rb = new ReorderBuffer(1, Pool);
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(0, 0, P(0), 0, flow: 1, express: true));
        Assert.Equal([0], Drain(rb, 0));
        Assert.Equal(0, rb.ReleasedExpress);
    }

    [Fact]
    public void Skipping_a_lost_hole_past_express_stand_ins_leaves_their_slots_free()
    {
        var rb = new ReorderBuffer(2, Pool, capacityPackets: 8) { HoldBoundUs = Forever, RepairWaitUs = 0 };
        rb.Insert(3, 0, P(3), 0, flow: 1, express: true);
        rb.Insert(4, 1, P(4), 0, flow: 2, express: true);
        Assert.Equal([3, 4], Drain(rb, 0));
        // Both paths are past 0..2: lost, skipped at once (nothing is held).
        Assert.Empty(Drain(rb, 1));
        Assert.Equal(5, rb.NextExpected);
        // gseqs 11 and 12 share the stand-ins' slots (capacity 8): they must be taken as new.
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(11, 0, P(11), 2, flow: 1));
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(12, 1, P(12), 2, flow: 2));
        Assert.Equal(InsertOutcome.Duplicate, rb.Insert(4, 0, P(4), 2)); // the released one is remembered as such
    }

    [Fact]
    public void Making_room_passes_over_express_stand_ins_without_dropping_anything_twice()
    {
        var rb = new ReorderBuffer(2, Pool, capacityPackets: 4) { HoldBoundUs = Forever, RepairWaitUs = Forever };
        rb.Insert(1, 0, P(1), 0, flow: 1);
        rb.Insert(2, 0, P(2), 0, flow: 2, express: true);
        Assert.Equal([2], Drain(rb, 0));
        // gseq 6 needs NextExpected >= 3: 0 (hole) and 1 (held) are dropped, 2 (already released) passed over.
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(6, 0, P(6), 1, flow: 1));
        Assert.Equal(3, rb.NextExpected);
        Assert.Equal(0, rb.Count - 1); // only 6 is held
        Assert.Equal(2, rb.SkippedOverflow);
        // Flow 1's held count went back to 0 with the drop: its express packets may go again.
        Assert.Equal(InsertOutcome.Express, rb.Insert(5, 0, P(5), 2, flow: 2, express: true));
        Assert.Equal(InsertOutcome.Express, rb.Insert(4, 1, P(4), 2, flow: 3, express: true));
        Assert.Equal([5, 4], Drain(rb, 2)); // 3 is lost (both paths passed it) but awaits its repair
        rb.Insert(3, 1, P(3), 3, flow: 0);
        Assert.Equal([3, 6], Drain(rb, 3));
        Assert.Equal(7, rb.NextExpected);
    }

    [Fact]
    public void Flow_indexes_outside_the_buckets_are_refused()
    {
        var rb = new ReorderBuffer(1, Pool, flowBuckets: 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => rb.Insert(0, 0, P(0), 0, flow: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => rb.Insert(0, 0, P(0), 0, flow: -1));
    }

    /// <summary>
    /// Random multipath schedules with packets spread over a few flows. A packet is marked express as a
    /// sender would be allowed to: every earlier packet of its flow reached the receiver before it, or never
    /// will (lost). Whatever the hold settings: each flow comes out in order, nothing twice, every gseq is
    /// accounted for, and express packets do get released ahead of holes.
    /// </summary>
    [Fact]
    public void Each_flow_stays_in_order_and_every_gseq_is_accounted_for()
    {
        long expressAhead = 0;
        var gen = Gen.Select(MultipathSchedule.Gen(withDownPath: true), Gen.Int[1, 4], Gen.Int[0, 100].Array[300], Gen.Long[0, 100_000], Gen.Long[0, 30_000]);
        gen.Sample((schedule, flows, rolls, holdBound, repairWait) =>
        {
            var packets = schedule.Packets;
            var flowOf = packets.Select(p => (int)(p.Gseq * 7 % flows)).ToArray();
            var express = new bool[packets.Length];
            for (int i = 0; i < packets.Length; i++)
            {
                express[i] = rolls[i] < 60 && !packets[i].Lost && Enumerable.Range(0, i).All(e =>
                    flowOf[e] != flowOf[i] || packets[e].Lost || packets[e].ArriveUs <= packets[i].ArriveUs);
            }
            var pool = new PacketPool();
            var rb = new ReorderBuffer(schedule.PathCount, pool, 1024, flowBuckets: 4) { HoldBoundUs = holdBound, RepairWaitUs = repairWait };
            var released = new List<long>();
            var events = packets.Where(p => !p.Lost).Select(p => (T: p.ArriveUs, K: 0, G: p.Gseq))
                .Concat(schedule.ReleaseCallsUs.Select(t => (T: t, K: 1, G: 0L)))
                .OrderBy(e => e.T).ThenBy(e => e.K).ThenBy(e => e.G).ToList();
            void Drain(long t)
            {
                while (rb.TryRelease(t, out var p))
                {
                    released.Add(p.Sequence);
                    pool.Return(p);
                }
            }
            foreach (var (t, k, g) in events)
            {
                if (k == 0)
                {
                    var outcome = rb.Insert(g, packets[g].Path, MultipathSchedule.Payload(g), t, flowOf[g], express[g]);
                    if (outcome == InsertOutcome.Express)
                    {
                        Assert.True(express[g]);
                        expressAhead++;
                    }
                }
                if (k == 1 || schedule.DrainAfterEachArrival)
                {
                    Drain(t);
                }
            }
            for (int p = 0; p < schedule.PathCount; p++)
            {
                rb.AdvanceWatermark(p, packets.Length, schedule.EndUs);
            }
            Drain(schedule.EndUs + holdBound + repairWait + 1);
            Assert.Equal(packets.Length, rb.NextExpected);
            Assert.Equal(0, rb.Count);
            Assert.Equal(released.Count, released.Distinct().Count());
            foreach (var group in released.GroupBy(g => flowOf[g]))
            {
                var order = group.ToList();
                Assert.Equal(order.OrderBy(g => g), order);
            }
            Assert.Equal(packets.Length, rb.Released + rb.SkippedLost + rb.SkippedLate);
            Assert.All(released, g => Assert.False(packets[g].Lost));
            Assert.Equal(0, pool.Outstanding);
        }, iter: 300);
        Assert.True(expressAhead > 0, "no schedule released an express packet ahead of a hole");
    }
}
