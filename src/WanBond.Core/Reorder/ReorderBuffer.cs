using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using WanBond.Core.Buffers;

namespace WanBond.Core.Reorder;

/// <summary>
/// Restores global (gseq) order at the receiver and tells loss from lateness (design point 4).
/// Each path is FIFO, so a path's watermark (one past the largest gseq seen on it, or announced
/// by a probe) says which holes that path can still fill. A hole that no active path can fill is
/// lost: it is skipped after <see cref="RepairWaitUs"/>. Otherwise it is late: it is skipped once the
/// oldest packet it blocks has been held for <see cref="HoldBoundUs"/>. Bounded memory whatever arrives:
/// a ring of <see cref="Capacity"/> slots indexed by gseq. Not thread-safe; no allocation per packet.
/// <para>
/// Express packets skip the global order: one the caller knows every earlier packet of its inner flow has
/// reached (the sender's promise, docs/protocol.md), and of whose flow nothing is held here, is released on
/// arrival, so that a ping, a DNS answer or a call does not wait for a bulk flow's packet stuck on a slow link. Held packets are
/// counted per flow bucket (the caller's flow hash modulo <see cref="FlowBuckets"/>; a collision only
/// makes a flow wait as before).
/// </para>
/// </summary>
public sealed class ReorderBuffer
{
    private const long NotLost = long.MaxValue;

    private readonly PacketPool _pool;
    // Stands in a slot for an express packet already released: the gseq is taken, nothing is held.
    private readonly PacketBuffer _releasedEarly = new();
    private readonly int[] _heldPerFlow;
    private readonly Queue<PacketBuffer> _express = new();
    private readonly PacketBuffer?[] _slots;
    private readonly long[] _lostAtUs; // per slot: when its hole became known lost, NotLost if not (yet)
    private readonly bool[] _lastDepartureReleased; // per slot: was the last gseq to leave it released (not skipped)
    private readonly long _mask;
    private readonly long[] _watermarks;
    private readonly bool[] _active;
    // Accepted gseqs in arrival order, to find the oldest held packet; stale entries are dropped lazily.
    // Holds at most 2 * Capacity: the held packets plus released ones that arrived after the oldest held.
    private readonly long[] _arrivals;
    private int _arrivalHead;
    private int _arrivalCount;
    private long _lossFrontier; // gseqs below it can no longer arrive on any active path (and were sent)
    private long _lostThrough; // holes below this gseq (inside the window) have a _lostAtUs mark

    /// <param name="pathCount">Paths, numbered 0..pathCount-1; all start active with watermark 0.</param>
    /// <param name="pool">Where held packets are copied to; released buffers are the caller's to return.</param>
    /// <param name="capacityPackets">Ring size (rounded up to a power of two): the most gseqs ahead of
    /// <see cref="NextExpected"/> that can be held.</param>
    /// <param name="flowBuckets">Flow buckets for express release; flows are given as an index below this.</param>
    public ReorderBuffer(int pathCount, PacketPool pool, int capacityPackets = 16384, int flowBuckets = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(flowBuckets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pathCount);
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityPackets);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacityPackets, 1 << 24);
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)capacityPackets);
        _pool = pool;
        _slots = new PacketBuffer?[capacity];
        _lostAtUs = new long[capacity];
        Array.Fill(_lostAtUs, NotLost);
        _lastDepartureReleased = new bool[capacity];
        _mask = capacity - 1;
        _watermarks = new long[pathCount];
        _active = new bool[pathCount];
        Array.Fill(_active, true);
        _arrivals = new long[2 * capacity];
        _heldPerFlow = new int[flowBuckets];
    }

    /// <summary>Flow buckets: the flow index given to <see cref="Insert"/> is below this.</summary>
    public int FlowBuckets => _heldPerFlow.Length;

    /// <summary>Express packets released on arrival, ahead of holes (their gseq was not the next expected).</summary>
    public long ReleasedExpress { get; private set; }

    /// <summary>Ring size: at most this many packets are held.</summary>
    public int Capacity => _slots.Length;

    public int PathCount => _watermarks.Length;

    /// <summary>Lowest gseq neither released nor skipped.</summary>
    public long NextExpected { get; private set; }

    /// <summary>Longest a packet is held waiting for a hole in front of it that may still arrive (late, not lost).</summary>
    public long HoldBoundUs
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    } = 50_000;

    /// <summary>How long a hole known lost is kept open for an in-tunnel repair. Capped by <see cref="HoldBoundUs"/>.</summary>
    public long RepairWaitUs
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    }

    /// <summary>Packets held (express packets already released are not).</summary>
    public int Count { get; private set; }

    public long Released { get; private set; }

    /// <summary>Holes skipped because no active path could still deliver them.</summary>
    public long SkippedLost { get; private set; }

    /// <summary>Holes skipped because the hold bound ran out while a path could still deliver them.</summary>
    public long SkippedLate { get; private set; }

    /// <summary>gseqs passed over to make room for a packet too far ahead, held packets among them (those are dropped).</summary>
    public long SkippedOverflow { get; private set; }

    public long Duplicates { get; private set; }

    public long TooLate { get; private set; }

    /// <summary>Hold time (arrival to release) of the last released packet.</summary>
    public long LastHoldUs { get; private set; }

    /// <summary>Sum of hold times of all released packets (with <see cref="Released"/>, gives the mean).</summary>
    public long TotalHoldUs { get; private set; }

    public long Watermark(int pathId)
    {
        CheckPath(pathId);
        return _watermarks[pathId];
    }

    public bool IsPathActive(int pathId)
    {
        CheckPath(pathId);
        return _active[pathId];
    }

    /// <summary>
    /// Takes a data packet that arrived on <paramref name="pathId"/> and raises that path's watermark.
    /// A packet too far ahead makes room by skipping the head (counted in <see cref="SkippedOverflow"/>).
    /// </summary>
    /// <param name="flow">The packet's flow bucket, below <see cref="FlowBuckets"/>.</param>
    /// <param name="express">Every earlier packet of this flow has arrived or never will (the caller checked the
    /// sender's promise): release it now unless a packet of its flow is held (<see cref="InsertOutcome.Express"/>).</param>
    /// <exception cref="ArgumentException"><paramref name="inner"/> is longer than a pooled buffer.</exception>
    public InsertOutcome Insert(long gseq, int pathId, ReadOnlySpan<byte> inner, long nowUs, int flow = 0, bool express = false)
    {
        CheckPath(pathId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)flow, (uint)_heldPerFlow.Length, nameof(flow));
        if (gseq < 0)
        {
            TooLate++;
            return InsertOutcome.TooLate;
        }
        RaiseWatermark(pathId, gseq == long.MaxValue ? gseq : gseq + 1);

        InsertOutcome outcome;
        if (gseq < NextExpected)
        {
            // A repair or duplicate of something already gone: say which, if the slot still remembers.
            bool released = gseq >= NextExpected - Capacity && _lastDepartureReleased[Slot(gseq)];
            if (released)
            {
                Duplicates++;
                outcome = InsertOutcome.Duplicate;
            }
            else
            {
                TooLate++;
                outcome = InsertOutcome.TooLate;
            }
        }
        else
        {
            if (gseq - NextExpected >= Capacity)
            {
                MakeRoom(gseq);
            }
            int s = Slot(gseq);
            if (_slots[s] is not null)
            {
                Duplicates++;
                outcome = InsertOutcome.Duplicate;
            }
            else
            {
                var p = _pool.Rent(inner);
                p.Sequence = gseq;
                p.TimestampUs = nowUs;
                p.Tag = pathId;
                if (express && gseq != NextExpected && _heldPerFlow[flow] == 0)
                {
                    _express.Enqueue(p);
                    _slots[s] = _releasedEarly;
                    outcome = InsertOutcome.Express;
                }
                else
                {
                    p.Flow = flow;
                    _slots[s] = p;
                    _heldPerFlow[flow]++;
                    Count++;
                    PushArrival(gseq);
                    outcome = InsertOutcome.Accepted;
                }
            }
        }
        MarkLost(nowUs);
        return outcome;
    }

    /// <summary>A probe on <paramref name="pathId"/> says every gseq below <paramref name="nextGseq"/> sent on it has gone out. Never lowers.</summary>
    public void AdvanceWatermark(int pathId, long nextGseq, long nowUs)
    {
        CheckPath(pathId);
        RaiseWatermark(pathId, nextGseq);
        MarkLost(nowUs);
    }

    /// <summary>An inactive path is not waited for: holes only it could fill count as lost.</summary>
    public void SetPathActive(int pathId, bool active, long nowUs)
    {
        CheckPath(pathId);
        _active[pathId] = active;
        UpdateLossFrontier();
        MarkLost(nowUs);
    }

    /// <summary>
    /// The head packet if present, skipping holes whose time has come (a lost hole even when nothing waits
    /// behind it, a late one only when it blocks a packet). Call until false after each input.
    /// The packet's <see cref="PacketBuffer.Sequence"/> is its gseq, <see cref="PacketBuffer.TimestampUs"/> its
    /// arrival time, <see cref="PacketBuffer.Tag"/> its path. The caller returns it to the pool.
    /// Express packets come first, in arrival order.
    /// </summary>
    public bool TryRelease(long nowUs, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        if (_express.TryDequeue(out packet))
        {
            ReleasedExpress++;
            Released++;
            LastHoldUs = 0;
            return true;
        }
        while (true)
        {
            int s = Slot(NextExpected);
            var p = _slots[s];
            if (p == _releasedEarly)
            {
                PassReleasedEarly(s);
                MarkLost(nowUs);
                continue;
            }
            if (p is not null)
            {
                _slots[s] = null;
                Count--;
                _heldPerFlow[p.Flow]--;
                Released++;
                LastHoldUs = nowUs - p.TimestampUs;
                TotalHoldUs += LastHoldUs;
                Depart(NextExpected, released: true);
                NextExpected++;
                MarkLost(nowUs);
                packet = p;
                return true;
            }
            long lostAt = _lostAtUs[s];
            if (Count == 0)
            {
                // Only a known loss is skipped when nothing waits behind it, so that whether a late
                // repair is accepted does not depend on what else happens to be held.
                if (lostAt == NotLost || nowUs < SaturatingAdd(lostAt, RepairWaitUs))
                {
                    packet = null;
                    return false;
                }
                if (RepairWaitUs == 0 && _lossFrontier > NextExpected + 1)
                {
                    // Every gseq below the frontier is lost and due: one jump, however far a probe announced.
                    SkippedLost += _lossFrontier - NextExpected - SkipTo(_lossFrontier);
                    MarkLost(nowUs);
                    continue;
                }
            }
            else if (nowUs < HoleDeadlineUs(s))
            {
                packet = null;
                return false;
            }
            if (lostAt != NotLost)
            {
                SkippedLost++;
            }
            else
            {
                SkippedLate++;
            }
            Depart(NextExpected, released: false);
            NextExpected++;
            MarkLost(nowUs);
        }
    }

    /// <summary>Earliest time <see cref="TryRelease"/> can make progress without new input: <paramref name="nowUs"/>
    /// if it can now, <see cref="long.MaxValue"/> if never.</summary>
    public long NextDeadlineUs(long nowUs)
    {
        int s = Slot(NextExpected);
        if (_express.Count > 0 || _slots[s] is not null)
        {
            return nowUs;
        }
        if (Count == 0)
        {
            long lostAt = _lostAtUs[s];
            return lostAt == NotLost ? long.MaxValue : Math.Max(nowUs, SaturatingAdd(lostAt, RepairWaitUs));
        }
        return Math.Max(nowUs, HoleDeadlineUs(s));
    }

    // The head hole goes when the oldest packet it blocks has waited HoldBound (the delay spread between
    // paths is bounded by it), or RepairWait after it became known lost, whichever is first. Counting from
    // the oldest held packet, not from when this hole became the head, keeps a run of k late holes
    // from holding packets k times HoldBound.
    private long HoleDeadlineUs(int slot)
    {
        long late = SaturatingAdd(OldestArrivalUs(), HoldBoundUs);
        long lostAt = _lostAtUs[slot];
        long lost = lostAt == NotLost ? long.MaxValue : SaturatingAdd(lostAt, RepairWaitUs);
        return Math.Min(late, lost);
    }

    private long OldestArrivalUs()
    {
        while (_arrivalCount > 0)
        {
            long g = _arrivals[_arrivalHead];
            if (g >= NextExpected)
            {
                return _slots[Slot(g)]!.TimestampUs;
            }
            PopArrival();
        }
        return long.MaxValue;
    }

    private void PushArrival(long gseq)
    {
        if (_arrivalCount == _arrivals.Length)
        {
            OldestArrivalUs(); // drops stale entries at the front
            if (_arrivalCount == _arrivals.Length)
            {
                PopArrival(); // cannot happen (see _arrivals); losing the oldest only makes holds longer
            }
        }
        _arrivals[(_arrivalHead + _arrivalCount) & (_arrivals.Length - 1)] = gseq;
        _arrivalCount++;
    }

    private void PopArrival()
    {
        _arrivalHead = (_arrivalHead + 1) & (_arrivals.Length - 1);
        _arrivalCount--;
    }

    // Moves NextExpected to gseq - Capacity + 1 so gseq fits in the ring, dropping what is passed over.
    private void MakeRoom(long gseq)
    {
        long target = gseq - Capacity + 1;
        while (NextExpected < target)
        {
            if (Count == 0)
            {
                SkippedOverflow += target - NextExpected - SkipTo(target);
                return;
            }
            int s = Slot(NextExpected);
            var p = _slots[s];
            if (p == _releasedEarly)
            {
                PassReleasedEarly(s);
                continue;
            }
            if (p is not null)
            {
                _slots[s] = null;
                Count--;
                _heldPerFlow[p.Flow]--;
                _pool.Return(p);
            }
            SkippedOverflow++;
            Depart(NextExpected, released: false);
            NextExpected++;
        }
    }

    // NextExpected's slot holds the stand-in of an express packet released on arrival: its gseq has gone, released.
    private void PassReleasedEarly(int slot)
    {
        _slots[slot] = null;
        Depart(NextExpected, released: true);
        NextExpected++;
    }

    // Moves NextExpected to target with nothing held (express stand-ins aside), touching at most Capacity slots
    // however far it goes. Returns how many express stand-ins it passed: those gseqs were released, not skipped.
    private long SkipTo(long target)
    {
        long early = 0;
        for (long g = Math.Max(NextExpected, target - Capacity); g < target; g++)
        {
            int s = Slot(g);
            bool wasEarly = _slots[s] == _releasedEarly;
            _slots[s] = null;
            Depart(g, released: wasEarly);
            early += wasEarly ? 1 : 0;
        }
        NextExpected = target;
        _arrivalHead = 0;
        _arrivalCount = 0; // all stale: nothing is held
        return early;
    }

    private void Depart(long gseq, bool released)
    {
        int s = Slot(gseq);
        _lostAtUs[s] = NotLost;
        _lastDepartureReleased[s] = released;
    }

    private void RaiseWatermark(int pathId, long next)
    {
        if (next > _watermarks[pathId])
        {
            _watermarks[pathId] = next;
            UpdateLossFrontier();
        }
    }

    private void UpdateLossFrontier()
    {
        long minActive = long.MaxValue; // no active path: nothing can fill any hole
        long max = 0;
        for (int i = 0; i < _watermarks.Length; i++)
        {
            if (_active[i] && _watermarks[i] < minActive)
            {
                minActive = _watermarks[i];
            }
            max = Math.Max(max, _watermarks[i]);
        }
        // Beyond the highest watermark nothing is known to have been sent, so nothing there is a hole.
        _lossFrontier = Math.Min(minActive, max);
    }

    // Stamps holes that every active path has passed with the time they became known lost. Each gseq is
    // stamped at most once (the frontier only moves up), so this is O(1) amortized per gseq. A hole stays
    // lost if a path with a lower watermark becomes active again later: the decision is not taken back.
    private void MarkLost(long nowUs)
    {
        long to = Math.Min(_lossFrontier, NextExpected + Capacity);
        for (long g = Math.Max(_lostThrough, NextExpected); g < to; g++)
        {
            _lostAtUs[Slot(g)] = nowUs;
        }
        if (to > _lostThrough)
        {
            _lostThrough = to;
        }
    }

    private int Slot(long gseq) => (int)(gseq & _mask);

    private void CheckPath(int pathId) => ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)pathId, (uint)_watermarks.Length, nameof(pathId));

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
