using WanBond.Core.Buffers;
using WanBond.Core.Reorder;

namespace WanBond.Core.Tests.Reorder;

/// <summary>A pool and the helpers the reorder buffer's example tests share.</summary>
public abstract class ReorderBufferTestBase
{
    protected PacketPool Pool { get; } = new();

    protected static byte[] P(long gseq) => MultipathSchedule.Payload(gseq);

    /// <summary>Releases everything ready at <paramref name="nowUs"/>; returns the gseqs in release order.</summary>
    protected List<long> Drain(ReorderBuffer rb, long nowUs)
    {
        var released = new List<long>();
        while (rb.TryRelease(nowUs, out var p))
        {
            released.Add(p.Sequence);
            Pool.Return(p);
        }
        return released;
    }
}

public class ReorderBufferTests : ReorderBufferTestBase
{
    private const long Ms = 1_000;

    [Fact]
    public void In_order_packets_leave_at_once_with_their_metadata()
    {
        var rb = new ReorderBuffer(2, Pool);
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(0, 1, P(0), 100));
        Assert.Equal(0, rb.NextDeadlineUs(150) - 150);
        Assert.True(rb.TryRelease(150, out var p));
        Assert.Equal(0, p.Sequence);
        Assert.Equal(100, p.TimestampUs);
        Assert.Equal(1, p.Tag);
        Assert.Equal(P(0), p.ReadOnlySpan.ToArray());
        Assert.Equal(50, rb.LastHoldUs);
        Pool.Return(p);
        Assert.False(rb.TryRelease(150, out _));
        Assert.Equal(1, rb.NextExpected);
        Assert.Equal(1, rb.Released);
        Assert.Equal(long.MaxValue, rb.NextDeadlineUs(150));
        Assert.Equal(1, rb.Watermark(1));
        Assert.Equal(0, rb.Watermark(0));
    }

    [Fact]
    public void Out_of_order_arrivals_are_released_in_gseq_order()
    {
        var rb = new ReorderBuffer(3, Pool);
        rb.Insert(2, 0, P(2), 0);
        rb.Insert(1, 1, P(1), 1);
        Assert.Empty(Drain(rb, 1)); // path 2 may still bring 0
        Assert.Equal(2, rb.Count);
        rb.Insert(0, 1, P(0), 2);
        Assert.Equal([0, 1, 2], Drain(rb, 2));
        Assert.Equal(0, rb.Count);
        Assert.Equal(0, Pool.Outstanding);
    }

    [Fact]
    public void A_loss_is_skipped_as_soon_as_every_path_has_passed_it_not_after_the_hold_bound()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = 1_000 * Ms };
        rb.Insert(0, 0, P(0), 0);
        // gseq 1 went out on path 1 and is lost.
        rb.Insert(2, 0, P(2), 1 * Ms);
        Assert.Equal([0], Drain(rb, 1 * Ms)); // path 1 (watermark 0) may still bring 1
        Assert.Equal(1_001 * Ms, rb.NextDeadlineUs(1 * Ms));
        rb.Insert(3, 1, P(3), 2 * Ms); // path 1 passed 1: it is lost
        Assert.Equal(2 * Ms, rb.NextDeadlineUs(2 * Ms));
        Assert.Equal([2, 3], Drain(rb, 2 * Ms));
        Assert.Equal(1, rb.SkippedLost);
        Assert.Equal(0, rb.SkippedLate);
    }

    [Fact]
    public void A_lost_hole_waits_for_a_repair_for_RepairWait_then_a_late_copy_is_too_late()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = 1_000 * Ms, RepairWaitUs = 10 * Ms };
        rb.Insert(0, 0, P(0), 0);
        rb.Insert(2, 1, P(2), 0); // 1 was on path 0
        rb.Insert(3, 0, P(3), 5 * Ms); // path 0 passed 1 at 5 ms: lost, repair may come until 15 ms
        Assert.Equal([0], Drain(rb, 5 * Ms));
        Assert.Equal(15 * Ms, rb.NextDeadlineUs(5 * Ms));
        Assert.Empty(Drain(rb, 15 * Ms - 1));
        Assert.Equal([2, 3], Drain(rb, 15 * Ms));
        Assert.Equal(1, rb.SkippedLost);
        Assert.Equal(InsertOutcome.TooLate, rb.Insert(1, 1, P(1), 16 * Ms));
        Assert.Equal(1, rb.TooLate);
    }

    [Fact]
    public void A_repair_on_another_path_fills_the_hole_and_a_second_copy_is_a_duplicate()
    {
        var rb = new ReorderBuffer(2, Pool) { RepairWaitUs = 10 * Ms };
        rb.Insert(0, 0, P(0), 0);
        rb.Insert(2, 0, P(2), 1 * Ms);
        rb.Insert(3, 1, P(3), 1 * Ms);
        Assert.Equal([0], Drain(rb, 1 * Ms));
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(1, 1, P(1), 4 * Ms)); // the repair, on path 1
        Assert.Equal([1, 2, 3], Drain(rb, 4 * Ms));
        Assert.Equal(0, rb.SkippedLost);
        Assert.Equal(InsertOutcome.Duplicate, rb.Insert(1, 0, P(1), 5 * Ms));
        Assert.Equal(InsertOutcome.Duplicate, rb.Insert(3, 0, P(3), 5 * Ms));
        rb.Insert(5, 0, P(5), 6 * Ms);
        Assert.Equal(InsertOutcome.Duplicate, rb.Insert(5, 1, P(5), 6 * Ms)); // held twice
        Assert.Equal(3, rb.Duplicates);
        Assert.Equal(1, rb.Count);
        Assert.Equal(InsertOutcome.TooLate, rb.Insert(-1, 0, P(1), 6 * Ms));
    }

    [Fact]
    public void A_hole_on_a_slow_path_holds_until_the_hold_bound_then_is_skipped_as_late()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = 50 * Ms, RepairWaitUs = 0 };
        // 0 is in flight on slow path 1; 1.. arrive on fast path 0 from t = 10 ms.
        for (long g = 1; g <= 5; g++)
        {
            rb.Insert(g, 0, P(g), (10 + g) * Ms);
        }
        Assert.Empty(Drain(rb, 30 * Ms));
        Assert.Equal(61 * Ms, rb.NextDeadlineUs(30 * Ms)); // first later packet arrived at 11 ms
        Assert.Empty(Drain(rb, 61 * Ms - 1));
        Assert.Equal([1, 2, 3, 4, 5], Drain(rb, 61 * Ms));
        Assert.Equal(1, rb.SkippedLate);
        Assert.Equal(0, rb.SkippedLost);
        Assert.Equal(46 * Ms, rb.LastHoldUs); // gseq 5 arrived at 15 ms
        Assert.Equal(InsertOutcome.TooLate, rb.Insert(0, 1, P(0), 70 * Ms));
    }

    [Fact]
    public void A_run_of_late_holes_costs_one_hold_bound_not_one_per_hole()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = 50 * Ms };
        // 0..4 in flight on the slow path 1; 5..9 arrived on path 0 at 0 ms.
        for (long g = 5; g < 10; g++)
        {
            rb.Insert(g, 0, P(g), 0);
        }
        Assert.Empty(Drain(rb, 50 * Ms - 1));
        Assert.Equal([5, 6, 7, 8, 9], Drain(rb, 50 * Ms));
        Assert.Equal(5, rb.SkippedLate);
    }

    [Fact]
    public void Hold_bound_counts_from_when_the_first_later_packet_arrived()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = 50 * Ms };
        rb.Insert(0, 0, P(0), 0);
        Assert.Equal([0], Drain(rb, 0));
        // The hole at 1 blocks nothing until 2 arrives at 100 ms.
        Assert.Equal(long.MaxValue, rb.NextDeadlineUs(0));
        rb.Insert(2, 0, P(2), 100 * Ms);
        Assert.Equal(150 * Ms, rb.NextDeadlineUs(100 * Ms));
        Assert.Empty(Drain(rb, 149 * Ms));
        Assert.Equal([2], Drain(rb, 150 * Ms));
    }

    [Fact]
    public void An_inactive_path_is_not_waited_for()
    {
        var rb = new ReorderBuffer(3, Pool) { HoldBoundUs = 1_000 * Ms };
        rb.Insert(1, 0, P(1), 0);
        rb.Insert(2, 1, P(2), 0);
        Assert.Empty(Drain(rb, 1 * Ms)); // 0 may still come on path 2
        rb.SetPathActive(2, false, 2 * Ms);
        Assert.False(rb.IsPathActive(2));
        Assert.Equal([1, 2], Drain(rb, 2 * Ms));
        Assert.Equal(1, rb.SkippedLost);

        // Active again: its holes are waited for again.
        rb.SetPathActive(2, true, 3 * Ms);
        rb.Insert(4, 0, P(4), 3 * Ms);
        rb.Insert(5, 1, P(5), 3 * Ms);
        Assert.Empty(Drain(rb, 4 * Ms));
        Assert.Equal(3, rb.NextExpected);
    }

    [Fact]
    public void A_probe_advances_a_watermark_but_never_lowers_it()
    {
        var rb = new ReorderBuffer(2, Pool) { HoldBoundUs = 1_000 * Ms };
        rb.Insert(1, 0, P(1), 0);
        Assert.Empty(Drain(rb, 0));
        rb.AdvanceWatermark(1, 1, 1 * Ms); // path 1 sent nothing below 1: gseq 0 is lost
        Assert.Equal([1], Drain(rb, 1 * Ms));
        rb.AdvanceWatermark(1, 0, 2 * Ms);
        Assert.Equal(1, rb.Watermark(1));
        Assert.Equal(1, rb.SkippedLost);
    }

    [Fact]
    public void A_probe_far_ahead_with_nothing_held_skips_the_lost_range_in_one_step()
    {
        var rb = new ReorderBuffer(2, Pool, capacityPackets: 16);
        rb.AdvanceWatermark(0, 1_000_000_000_000, 0);
        rb.AdvanceWatermark(1, 1_000_000_000_000, 0);
        Assert.Equal(0, rb.NextDeadlineUs(0));
        Assert.False(rb.TryRelease(0, out _));
        Assert.Equal(1_000_000_000_000, rb.NextExpected);
        Assert.Equal(1_000_000_000_000, rb.SkippedLost);
        Assert.Equal(InsertOutcome.Accepted, rb.Insert(1_000_000_000_000, 0, P(0), 1));
        Assert.Equal([1_000_000_000_000], Drain(rb, 1));
    }

    [Fact]
    public void With_every_path_inactive_only_gseqs_below_the_highest_watermark_are_holes()
    {
        var rb = new ReorderBuffer(2, Pool);
        rb.SetPathActive(0, false, 0);
        rb.SetPathActive(1, false, 0);
        Assert.False(rb.TryRelease(0, out _));
        Assert.Equal(0, rb.NextExpected); // nothing known to be sent: nothing to skip
        rb.Insert(3, 0, P(3), 1);
        Assert.Equal([3], Drain(rb, 1));
        Assert.Equal(3, rb.SkippedLost);
    }

    [Fact]
    public void A_packet_too_far_ahead_makes_room_by_skipping_the_head_and_memory_stays_bounded()
    {
        var rb = new ReorderBuffer(2, Pool, capacityPackets: 6);
        Assert.Equal(8, rb.Capacity);
        rb.Insert(1, 0, P(1), 0);
        rb.Insert(3, 0, P(3), 0);
        rb.Insert(9, 1, P(9), 0); // needs NextExpected >= 2: skips hole 0 and drops held 1
        Assert.Equal(2, rb.NextExpected);
        Assert.Equal(2, rb.SkippedOverflow);
        Assert.Equal(2, rb.Count);
        Assert.Equal(2, Pool.Outstanding);
        rb.Insert(1_000, 1, P(1_000), 0); // nothing in between is kept
        Assert.Equal(1_000 - 8 + 1, rb.NextExpected);
        Assert.Equal(1, rb.Count);
        Assert.Equal(1, Pool.Outstanding);
        Assert.Equal(rb.NextExpected, rb.Released + rb.SkippedLost + rb.SkippedLate + rb.SkippedOverflow);
        Assert.Equal(InsertOutcome.TooLate, rb.Insert(3, 0, P(3), 0));
    }

    [Fact]
    public void Invalid_arguments_are_refused()
    {
        var rb = new ReorderBuffer(2, Pool);
        Assert.Throws<ArgumentOutOfRangeException>(() => rb.Insert(0, 2, P(0), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rb.Insert(0, -1, P(0), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rb.AdvanceWatermark(5, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rb.HoldBoundUs = -1);
        Assert.Throws<ArgumentException>(() => rb.Insert(0, 0, new byte[PacketBuffer.Capacity + 1], 0));
        Assert.Equal(0, rb.Count);
        Assert.Equal(0, Pool.Outstanding);
    }

    [Fact]
    public void Steady_state_allocates_nothing()
    {
        var rb = new ReorderBuffer(3, Pool, 1024) { HoldBoundUs = 5 * Ms };
        var payload = new byte[1200];
        long g = 0;
        void Run(int packets)
        {
            for (int i = 0; i < packets; i++, g++)
            {
                // Three paths, rotating, with a loss every 97 packets and path 2 one packet late.
                long t = g * 100;
                if (g % 97 != 0)
                {
                    rb.Insert(g, (int)(g % 3), payload, t + (g % 3 == 2 ? 150 : 0));
                }
                while (rb.TryRelease(t + 150, out var p))
                {
                    Pool.Return(p);
                }
            }
        }
        Run(5_000);
        int created = Pool.Created;
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(5_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(created, Pool.Created);
        Assert.True(rb.Released > 9_000);
        Assert.True(rb.SkippedLost > 50);
    }
}
