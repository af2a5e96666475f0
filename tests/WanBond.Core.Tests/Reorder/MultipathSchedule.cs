using System.Buffers.Binary;
using CsCheck;
using WanBond.Core.Buffers;
using WanBond.Core.Reorder;

namespace WanBond.Core.Tests.Reorder;

/// <summary>One tunnel packet of a schedule: sent in gseq order on one path, lost or delivered.</summary>
public readonly record struct ScheduledPacket(long Gseq, int Path, bool Lost, long ArriveUs);

/// <summary>
/// A random multipath schedule: per-path FIFO delivery with per-path base delay, jitter and loss,
/// TryRelease calls at arbitrary times, and optionally one path going down (its later packets are lost,
/// the receiver marks it inactive some time after).
/// </summary>
public sealed record MultipathSchedule(
    int PathCount,
    ScheduledPacket[] Packets,
    long[] ReleaseCallsUs,
    int DownPath,
    long DownAtUs,
    long InactiveAtUs,
    bool DrainAfterEachArrival)
{
    public int Lost => Packets.Count(p => p.Lost);

    /// <summary>After every event of the schedule.</summary>
    public long EndUs => Math.Max(
        Math.Max(Packets.Max(p => p.ArriveUs), ReleaseCallsUs.Length == 0 ? 0 : ReleaseCallsUs.Max()),
        DownPath >= 0 ? InactiveAtUs : 0) + 1;

    public override string ToString() =>
        $"paths={PathCount} n={Packets.Length} lost={Lost} down={DownPath}@{DownAtUs}/inactive@{InactiveAtUs} drainEach={DrainAfterEachArrival} " +
        string.Join(" ", Packets.Select(p => $"{p.Gseq}:p{p.Path}{(p.Lost ? "x" : "")}@{p.ArriveUs}"));

    /// <param name="withDownPath">Whether a path may go down mid-run.</param>
    /// <param name="maxPackets">Most packets in a schedule.</param>
    public static Gen<MultipathSchedule> Gen(bool withDownPath, int maxPackets = 300)
    {
        var packet = CsCheck.Gen.Select(CsCheck.Gen.Int[0, 11], CsCheck.Gen.Int[0, 99], CsCheck.Gen.Long[0, 20_000], CsCheck.Gen.Long[0, 3_000]);
        return CsCheck.Gen.Select(
            CsCheck.Gen.Int[2, 4],
            CsCheck.Gen.Long[0, 80_000].Array[4],
            CsCheck.Gen.Int[0, 30].Array[4],
            packet.Array[1, maxPackets],
            CsCheck.Gen.Long[0, 1_500_000].Array[0, 80],
            withDownPath ? CsCheck.Gen.Int[-1, 3] : CsCheck.Gen.Const(-1),
            CsCheck.Gen.Long[0, 600_000],
            CsCheck.Gen.Long[0, 100_000],
            CsCheck.Gen.Bool,
            (pathCount, baseDelay, lossPct, raw, releases, down, downAt, detect, drainEach) =>
            {
                int downPath = down < pathCount ? down : -1;
                var lastArrive = new long[pathCount];
                var packets = new ScheduledPacket[raw.Length];
                long send = 0;
                for (int i = 0; i < raw.Length; i++)
                {
                    var (pathRaw, roll, jitter, gap) = raw[i];
                    send += gap;
                    int path = pathRaw % pathCount;
                    bool lost = roll < lossPct[path] || (path == downPath && send >= downAt);
                    // Jitter never breaks the path's FIFO order: a packet arrives no earlier than the one before it.
                    long arrive = Math.Max(send + baseDelay[path] + jitter, lastArrive[path]);
                    lastArrive[path] = arrive;
                    packets[i] = new ScheduledPacket(i, path, lost, arrive);
                }
                return new MultipathSchedule(pathCount, packets, releases, downPath, downAt, downAt + detect, drainEach);
            });
    }

    public static byte[] Payload(long gseq)
    {
        var b = new byte[8 + (int)(gseq % 50)];
        BinaryPrimitives.WriteInt64BigEndian(b, gseq);
        return b;
    }
}

/// <summary>Plays a schedule into a ReorderBuffer and checks the invariants that hold whatever the settings.</summary>
public sealed class ScheduleRun
{
    private enum Kind
    {
        PathInactive,
        Arrival,
        Release,
    }

    public ScheduleRun(MultipathSchedule schedule, long holdBoundUs, long repairWaitUs, int capacity = 1024)
    {
        Schedule = schedule;
        Pool = new PacketPool();
        Buffer = new ReorderBuffer(schedule.PathCount, Pool, capacity) { HoldBoundUs = holdBoundUs, RepairWaitUs = repairWaitUs };
        ModelWatermark = new long[schedule.PathCount];
        ModelActive = Enumerable.Repeat(true, schedule.PathCount).ToArray();
    }

    public MultipathSchedule Schedule { get; }
    public PacketPool Pool { get; }
    public ReorderBuffer Buffer { get; }
    public List<long> ReleasedGseqs { get; } = [];
    public HashSet<long> Delivered { get; } = [];
    public long[] ModelWatermark { get; }
    public bool[] ModelActive { get; }

    /// <summary>Held packets by the model: gseq to arrival time.</summary>
    public SortedDictionary<long, long> Held { get; } = [];

    /// <summary>Called after each drain (TryRelease until false) with the drain time.</summary>
    public Action<ScheduleRun, long>? AfterDrain { get; init; }

    public void Play()
    {
        var events = new List<(long T, Kind K, long Index)>();
        foreach (var p in Schedule.Packets)
        {
            if (!p.Lost)
            {
                events.Add((p.ArriveUs, Kind.Arrival, p.Gseq));
            }
        }
        foreach (var t in Schedule.ReleaseCallsUs)
        {
            events.Add((t, Kind.Release, 0));
        }
        if (Schedule.DownPath >= 0)
        {
            events.Add((Schedule.InactiveAtUs, Kind.PathInactive, Schedule.DownPath));
        }
        // Same time: gseq order keeps each path FIFO.
        events.Sort((a, b) => a.T != b.T ? a.T.CompareTo(b.T) : a.K != b.K ? a.K.CompareTo(b.K) : a.Index.CompareTo(b.Index));

        foreach (var (t, kind, index) in events)
        {
            switch (kind)
            {
                case Kind.Arrival:
                    var p = Schedule.Packets[index];
                    var outcome = Buffer.Insert(p.Gseq, p.Path, MultipathSchedule.Payload(p.Gseq), t);
                    Delivered.Add(p.Gseq);
                    ModelWatermark[p.Path] = Math.Max(ModelWatermark[p.Path], p.Gseq + 1);
                    if (outcome == InsertOutcome.Accepted)
                    {
                        Assert.True(p.Gseq >= Buffer.NextExpected);
                        Held[p.Gseq] = t;
                    }
                    else
                    {
                        // Each gseq is delivered once, so only a gseq already skipped can be refused.
                        Assert.Equal(InsertOutcome.TooLate, outcome);
                        Assert.True(p.Gseq < Buffer.NextExpected);
                    }
                    CheckInvariants();
                    if (Schedule.DrainAfterEachArrival)
                    {
                        Drain(t);
                    }
                    break;
                case Kind.Release:
                    Drain(t);
                    break;
                case Kind.PathInactive:
                    Buffer.SetPathActive((int)index, false, t);
                    ModelActive[index] = false;
                    CheckInvariants();
                    break;
            }
        }
    }

    public void Drain(long nowUs)
    {
        while (Buffer.TryRelease(nowUs, out var packet))
        {
            long gseq = packet.Sequence;
            Assert.True(ReleasedGseqs.Count == 0 || gseq > ReleasedGseqs[^1], $"released {gseq} after {(ReleasedGseqs.Count == 0 ? -1 : ReleasedGseqs[^1])}");
            Assert.Equal(gseq, BinaryPrimitives.ReadInt64BigEndian(packet.ReadOnlySpan));
            Assert.Equal(MultipathSchedule.Payload(gseq).Length, packet.Length);
            Assert.Equal(Schedule.Packets[gseq].Path, packet.Tag);
            Assert.True(Held.Remove(gseq, out long arrival));
            Assert.Equal(arrival, packet.TimestampUs);
            Assert.Equal(nowUs - arrival, Buffer.LastHoldUs);
            ReleasedGseqs.Add(gseq);
            Pool.Return(packet);
            CheckInvariants();
        }
        // Packets the buffer skipped past are gone from the model too (only overflow does that).
        while (Held.Count > 0 && Held.First().Key < Buffer.NextExpected)
        {
            Held.Remove(Held.First().Key);
        }
        CheckInvariants();
        AfterDrain?.Invoke(this, nowUs);
    }

    /// <summary>Probes announce every path's full progress, then the buffer drains: every gseq is accounted for.</summary>
    public void Finish()
    {
        long end = Schedule.EndUs;
        for (int path = 0; path < Schedule.PathCount; path++)
        {
            Buffer.AdvanceWatermark(path, Schedule.Packets.Length, end);
            ModelWatermark[path] = Schedule.Packets.Length;
        }
        Drain(end + Buffer.RepairWaitUs);
        Assert.Equal(0, Buffer.Count);
        Assert.Equal(Schedule.Packets.Length, Buffer.NextExpected);
        Assert.Equal(0, Pool.Outstanding);
        Assert.Empty(Held);
    }

    public void CheckInvariants()
    {
        var b = Buffer;
        Assert.Equal(b.NextExpected, b.Released + b.SkippedLost + b.SkippedLate + b.SkippedOverflow);
        Assert.Equal(ReleasedGseqs.Count, b.Released);
        Assert.InRange(b.Count, 0, b.Capacity);
        Assert.Equal(b.Count, Pool.Outstanding);
        Assert.Equal(Held.Count(h => h.Key >= b.NextExpected), b.Count);
    }
}
