namespace WanBond.Core.Sessions;

/// <summary>How a data packet may be released ahead of the global order (see <see cref="OutstandingFlows"/>).</summary>
internal enum ExpressKind
{
    /// <summary>In global order, as any packet (<see cref="Wire.PacketType.Data"/>).</summary>
    None,

    /// <summary>Every earlier packet of its flow was acknowledged (<see cref="Wire.PacketType.DataExpress"/>).</summary>
    Express,

    /// <summary>Every unacknowledged earlier packet of its flow has a copy sent before it on the same path
    /// (<see cref="Wire.PacketType.DataExpressOnPath"/>).</summary>
    ExpressOnPath,
}

/// <summary>
/// The sender's side of express delivery: per inner-flow bucket, how many of its packets are still
/// unacknowledged, and how many of those have a copy on each path. A packet of a flow with none may go
/// <see cref="ExpressKind.Express"/>: the receiver has every earlier packet of it, so releasing this one ahead
/// of other flows' holes cannot reorder the flow. When every unacknowledged one has a copy on the path this
/// packet takes, it may go <see cref="ExpressKind.ExpressOnPath"/>: the path is FIFO, so the receiver has
/// them too unless that path lost a packet since the flow's last one it received there, which it can see.
/// A ping, a DNS query, a keystroke or a game's updates thus do not wait behind a bulk flow's packet stuck
/// on a slow link. Buckets are the unit throughout (both ends hash alike): flows sharing one only wait more.
/// <para>
/// Entries are kept by gseq in a ring. An entry leaves when any copy of its packet is acknowledged, or
/// when it is older than <see cref="MaxAgeUs"/> or pushed out of the ring. Neither may let a later packet
/// overtake one the receiver still waits for: nothing waits 10 s (a path silent for a second or four round
/// trips is down and its holes are lost), and a ring at least as large as the receiver's reorder window
/// pushes out only gseqs the receiver has passed by the time the packet that pushed them out arrives.
/// Ageing is what frees the few packets that are never acknowledged (lost and not repaired); a sender
/// that gave up on a packet cannot free it sooner, as its original may still be on its way. Not
/// thread-safe; no allocation after construction.
/// </para>
/// </summary>
internal sealed class OutstandingFlows
{
    /// <summary>A packet unacknowledged for this long no longer holds its flow back (far longer than any path
    /// takes to be declared down, or the receiver holds a hole).</summary>
    public const long MaxAgeUs = 10_000_000;

    private const long Free = -1;

    private readonly int _paths;
    private readonly long[] _gseq; // per ring slot: the gseq still outstanding there, Free if none
    private readonly int[] _flow;
    private readonly long[] _sentUs;
    private readonly uint[] _onPaths; // per ring slot: the paths a copy was sent on
    private readonly int[] _perFlow;
    private readonly int[] _perFlowPath; // [flow * paths + path]: outstanding packets of the flow with a copy on the path
    private readonly long _mask;
    private long _oldest; // every gseq below is resolved
    private long _next; // one past the newest gseq added

    /// <param name="capacity">Ring size, a power of two no smaller than the peer's reorder window (gseqs).</param>
    public OutstandingFlows(int flowBuckets, int pathCount, int capacity = 16384)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(flowBuckets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pathCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pathCount, 32);
        if (capacity <= 0 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "must be a power of two");
        }
        _paths = pathCount;
        _gseq = new long[capacity];
        Array.Fill(_gseq, Free);
        _flow = new int[capacity];
        _sentUs = new long[capacity];
        _onPaths = new uint[capacity];
        _perFlow = new int[flowBuckets];
        _perFlowPath = new int[flowBuckets * pathCount];
        _mask = capacity - 1;
    }

    public int FlowBuckets => _perFlow.Length;

    /// <summary>Packets of <paramref name="flow"/> not yet acknowledged (nor aged out).</summary>
    public int Outstanding(int flow) => _perFlow[flow];

    /// <summary>
    /// Registers a new packet (not a repair) of <paramref name="flow"/>, first sent now, before any of its copies
    /// is recorded with <see cref="SentOn"/>. gseqs come in increasing order.
    /// </summary>
    public void Add(long gseq, int flow, long nowUs)
    {
        if (gseq < _next)
        {
            throw new ArgumentOutOfRangeException(nameof(gseq), "gseqs are added in increasing order");
        }
        Expire(nowUs);
        while (_oldest <= gseq - _gseq.Length)
        {
            ResolveSlot(_oldest++);
        }
        if (_next == _oldest)
        {
            _oldest = gseq;
        }
        _next = gseq + 1;
        var s = Slot(gseq);
        _gseq[s] = gseq;
        _flow[s] = flow;
        _sentUs[s] = nowUs;
        _onPaths[s] = 0;
        _perFlow[flow]++;
    }

    /// <summary>
    /// How a copy of <paramref name="gseq"/> (of <paramref name="flow"/>) about to go on <paramref name="path"/> may
    /// be released, judged by the flow's other outstanding packets. Call before <see cref="SentOn"/> for that copy.
    /// </summary>
    public ExpressKind Classify(long gseq, int flow, int path)
    {
        int others = _perFlow[flow];
        int othersOnPath = _perFlowPath[(flow * _paths) + path];
        if (IsOutstanding(gseq))
        {
            var s = Slot(gseq);
            others--;
            if ((_onPaths[s] & (1u << path)) != 0)
            {
                othersOnPath--;
            }
        }
        if (others == 0)
        {
            return ExpressKind.Express;
        }
        return othersOnPath == others ? ExpressKind.ExpressOnPath : ExpressKind.None;
    }

    /// <summary>A copy of <paramref name="gseq"/> went out on <paramref name="path"/> (ignored once resolved).</summary>
    public void SentOn(long gseq, int path)
    {
        if (!IsOutstanding(gseq))
        {
            return;
        }
        var s = Slot(gseq);
        var bit = 1u << path;
        if ((_onPaths[s] & bit) == 0)
        {
            _onPaths[s] |= bit;
            _perFlowPath[(_flow[s] * _paths) + path]++;
        }
    }

    /// <summary>A copy of <paramref name="gseq"/> was acknowledged (any path, any copy; repeats are ignored).</summary>
    public void Acknowledged(long gseq)
    {
        if (gseq >= _oldest && gseq < _next)
        {
            ResolveSlot(gseq);
        }
    }

    private bool IsOutstanding(long gseq) => gseq >= _oldest && gseq < _next && _gseq[Slot(gseq)] == gseq;

    private int Slot(long gseq) => (int)(gseq & _mask);

    private void Expire(long nowUs)
    {
        while (_oldest < _next)
        {
            var s = Slot(_oldest);
            if (_gseq[s] == _oldest && nowUs - _sentUs[s] < MaxAgeUs)
            {
                return;
            }
            ResolveSlot(_oldest++);
        }
    }

    private void ResolveSlot(long gseq)
    {
        var s = Slot(gseq);
        if (_gseq[s] != gseq)
        {
            return;
        }
        _gseq[s] = Free;
        var flow = _flow[s];
        _perFlow[flow]--;
        for (uint m = _onPaths[s]; m != 0; m &= m - 1)
        {
            _perFlowPath[(flow * _paths) + System.Numerics.BitOperations.TrailingZeroCount(m)]--;
        }
    }
}
