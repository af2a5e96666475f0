using CsCheck;
using WanBond.Core.Buffers;
using WanBond.Core.Reorder;

namespace WanBond.Core.Tests.Reorder;

public class ReorderBufferPropertyTests
{
    private const long Forever = long.MaxValue / 4;

    [Fact]
    public void Releases_in_order_once_and_accounts_for_every_gseq_whatever_the_settings()
    {
        var gen = Gen.Select(MultipathSchedule.Gen(withDownPath: true), Gen.Long[0, 100_000], Gen.Long[0, 30_000]);
        gen.Sample((schedule, holdBound, repairWait) =>
        {
            var run = new ScheduleRun(schedule, holdBound, repairWait);
            run.Play();
            run.Finish();
            var b = run.Buffer;
            Assert.Equal(schedule.Packets.Length, b.Released + b.SkippedLost + b.SkippedLate);
            // Nothing that was delivered in time is missing, and nothing lost was released.
            foreach (var g in run.ReleasedGseqs)
            {
                Assert.Contains(g, run.Delivered);
            }
            Assert.True(b.Released + b.TooLate >= run.Delivered.Count);
        }, iter: 300);
    }

    [Fact]
    public void With_no_hold_bound_and_all_paths_active_exactly_the_lost_packets_are_skipped()
    {
        var gen = Gen.Select(MultipathSchedule.Gen(withDownPath: false), Gen.Long[0, 30_000]);
        gen.Sample((schedule, repairWait) =>
        {
            var run = new ScheduleRun(schedule, Forever, repairWait);
            run.Play();
            run.Finish();
            var b = run.Buffer;
            Assert.Equal(run.Delivered.Count, b.Released);
            Assert.Equal(run.Delivered.OrderBy(g => g), run.ReleasedGseqs);
            Assert.Equal(schedule.Lost, b.SkippedLost);
            Assert.Equal(0, b.SkippedLate);
            Assert.Equal(0, b.SkippedOverflow);
            Assert.Equal(0, b.TooLate);
            Assert.Equal(0, b.Duplicates);
        }, iter: 300);
    }

    [Fact]
    public void A_lost_hole_is_skipped_as_soon_as_every_active_path_has_passed_it()
    {
        // RepairWait 0 and no hold bound: after any drain, a blocking head hole must still be
        // fillable by some active path, i.e. some active path's watermark has not passed it.
        var gen = MultipathSchedule.Gen(withDownPath: true);
        int checkedBlocked = 0;
        gen.Sample(schedule =>
        {
            var run = new ScheduleRun(schedule, Forever, 0)
            {
                AfterDrain = (r, t) =>
                {
                    if (r.Buffer.Count == 0)
                    {
                        return;
                    }
                    long head = r.Buffer.NextExpected;
                    bool fillable = false;
                    for (int p = 0; p < r.ModelWatermark.Length; p++)
                    {
                        fillable |= r.ModelActive[p] && r.ModelWatermark[p] <= head;
                        Assert.Equal(r.ModelWatermark[p], r.Buffer.Watermark(p));
                    }
                    Assert.True(fillable, $"hole {head} blocks {r.Buffer.Count} packets at {t} though every active path passed it");
                    // The head is still reachable and is genuinely undelivered so far.
                    Assert.DoesNotContain(head, r.Delivered);
                    checkedBlocked++;
                },
            };
            run.Play();
            run.Finish();
            Assert.Equal(0, run.Buffer.SkippedLate);
        }, iter: 300, threads: 1);
        Assert.True(checkedBlocked > 100, $"only {checkedBlocked} blocked states checked: the property was nearly vacuous");
    }

    [Fact]
    public void No_packet_is_held_longer_than_the_hold_bound_and_the_deadline_is_exact()
    {
        var gen = Gen.Select(MultipathSchedule.Gen(withDownPath: true), Gen.Long[0, 60_000], Gen.Long[0, 80_000]);
        int checkedHeld = 0;
        gen.Sample((schedule, holdBound, repairWait) =>
        {
            var run = new ScheduleRun(schedule, holdBound, repairWait)
            {
                AfterDrain = (r, t) =>
                {
                    long deadline = r.Buffer.NextDeadlineUs(t);
                    if (r.Buffer.Count == 0)
                    {
                        Assert.Equal(long.MaxValue, deadline);
                        return;
                    }
                    long oldest = r.Held.Where(h => h.Key >= r.Buffer.NextExpected).Min(h => h.Value);
                    Assert.True(oldest + holdBound > t, $"packet from {oldest} still held at {t}, bound {holdBound}");
                    Assert.InRange(deadline, t + 1, oldest + holdBound);
                    checkedHeld++;
                },
            };
            run.Play();
            run.Finish();
        }, iter: 300, threads: 1);
        Assert.True(checkedHeld > 100, $"only {checkedHeld} held states checked");
    }

    [Fact]
    public void Calling_at_the_announced_deadline_makes_progress_and_just_before_it_does_not()
    {
        var gen = Gen.Select(MultipathSchedule.Gen(withDownPath: true, maxPackets: 120), Gen.Long[0, 60_000], Gen.Long[0, 80_000]);
        int deadlinesReached = 0;
        gen.Sample((schedule, holdBound, repairWait) =>
        {
            var pool = new PacketPool();
            var rb = new ReorderBuffer(schedule.PathCount, pool) { HoldBoundUs = holdBound, RepairWaitUs = repairWait };
            var arrivals = schedule.Packets.Where(p => !p.Lost).OrderBy(p => p.ArriveUs).ThenBy(p => p.Gseq).ToArray();
            long last = -1;
            for (int i = 0; i < arrivals.Length; i++)
            {
                var p = arrivals[i];
                rb.Insert(p.Gseq, p.Path, MultipathSchedule.Payload(p.Gseq), p.ArriveUs);
                long now = p.ArriveUs;
                long next = i + 1 < arrivals.Length ? arrivals[i + 1].ArriveUs : long.MaxValue;
                while (true)
                {
                    while (rb.TryRelease(now, out var r))
                    {
                        Assert.True(r.Sequence > last);
                        last = r.Sequence;
                        pool.Return(r);
                    }
                    long deadline = rb.NextDeadlineUs(now);
                    if (deadline >= next || deadline == long.MaxValue)
                    {
                        break;
                    }
                    Assert.True(deadline > now);
                    Assert.False(rb.TryRelease(deadline - 1, out _));
                    Assert.Equal(deadline, rb.NextDeadlineUs(deadline - 1));
                    long before = rb.NextExpected;
                    bool released = rb.TryRelease(deadline, out var q);
                    if (released)
                    {
                        Assert.True(q!.Sequence > last);
                        last = q.Sequence;
                        pool.Return(q);
                    }
                    Assert.True(rb.NextExpected > before, "no progress at the announced deadline");
                    deadlinesReached++;
                    now = deadline;
                }
            }
            Assert.Equal(rb.Count, pool.Outstanding);
        }, iter: 300, threads: 1);
        Assert.True(deadlinesReached > 100, $"only {deadlinesReached} deadlines reached");
    }

    [Fact]
    public void Memory_stays_bounded_and_nothing_leaks_whatever_arrives()
    {
        // Arbitrary gseqs (far ahead, repeated, old), paths, probes and activity changes into a tiny ring.
        var op = Gen.Select(Gen.Int[0, 9], Gen.Long[-2, 200], Gen.Int[0, 2], Gen.Long[0, 5_000]);
        var gen = Gen.Select(Gen.Int[1, 32], op.Array[0, 400], Gen.Long[0, 20_000], Gen.Long[0, 20_000]);
        gen.Sample((capacity, ops, holdBound, repairWait) =>
        {
            var pool = new PacketPool();
            var rb = new ReorderBuffer(3, pool, capacity) { HoldBoundUs = holdBound, RepairWaitUs = repairWait };
            long t = 0;
            long last = -1;
            long nextExpected = 0;
            var watermarks = new long[3];
            foreach (var (kind, value, path, dt) in ops)
            {
                t += dt;
                long gseq = kind == 0 ? value * 1_000_000 : rb.NextExpected + value - 10; // sometimes far ahead
                switch (kind)
                {
                    case <= 5:
                        var outcome = rb.Insert(gseq, path, MultipathSchedule.Payload(Math.Abs(gseq)), t);
                        if (gseq >= 0)
                        {
                            watermarks[path] = Math.Max(watermarks[path], gseq + 1);
                        }
                        if (gseq < 0)
                        {
                            Assert.Equal(InsertOutcome.TooLate, outcome);
                        }
                        break;
                    case 6:
                        rb.AdvanceWatermark(path, gseq, t);
                        watermarks[path] = Math.Max(watermarks[path], gseq);
                        break;
                    case 7:
                        rb.SetPathActive(path, value % 2 == 0, t);
                        break;
                    default:
                        while (rb.TryRelease(t, out var p))
                        {
                            Assert.True(p.Sequence > last);
                            last = p.Sequence;
                            pool.Return(p);
                        }
                        break;
                }
                for (int i = 0; i < 3; i++)
                {
                    Assert.Equal(watermarks[i], rb.Watermark(i)); // never lowered
                }
                Assert.True(rb.NextExpected >= nextExpected);
                nextExpected = rb.NextExpected;
                Assert.InRange(rb.Count, 0, rb.Capacity);
                Assert.Equal(rb.Count, pool.Outstanding);
                Assert.Equal(rb.NextExpected, rb.Released + rb.SkippedLost + rb.SkippedLate + rb.SkippedOverflow);
            }
            // Everything active and fully announced: the buffer empties and returns every buffer.
            long end = t + holdBound + repairWait + 1;
            for (int i = 0; i < 3; i++)
            {
                rb.SetPathActive(i, true, t);
                rb.AdvanceWatermark(i, rb.NextExpected + rb.Capacity, t);
            }
            while (rb.TryRelease(end, out var p))
            {
                Assert.True(p.Sequence > last);
                last = p.Sequence;
                pool.Return(p);
            }
            Assert.Equal(0, rb.Count);
            Assert.Equal(0, pool.Outstanding);
        }, iter: 500);
    }
}
