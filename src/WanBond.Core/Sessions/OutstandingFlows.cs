namespace WanBond.Core.Sessions;

/// <summary>
/// The sender's side of express delivery: per inner-flow bucket, how many of its packets are still
/// unacknowledged. A flow with none may send its next packet as <see cref="Wire.PacketType.DataExpress"/>:
/// the receiver has every earlier packet of it, so releasing this one ahead of other flows' holes cannot
/// reorder the flow. A ping, a DNS query or a keystroke thus never waits behind a bulk flow's packet stuck
/// on a slow link.
/// <para>
/// Entries are kept by gseq in a ring. An entry leaves when any copy of its packet is acknowledged, or
/// when it is older than <see cref="MaxAgeUs"/> or pushed out of the ring: a packet unacknowledged that long
/// has been given up by the sender and skipped by the receiver. Not thread-safe; no allocation after
/// construction.
/// </para>
/// </summary>
internal sealed class OutstandingFlows
{
    /// <summary>A packet unacknowledged for this long no longer holds its flow back (longer than any path's
    /// time to be declared down, and than the receiver's longest hold).</summary>
    public const long MaxAgeUs = 2_000_000;

    private const long Free = -1;

    private readonly long[] _gseq; // per ring slot: the gseq still outstanding there, Free if none
    private readonly int[] _flow;
    private readonly long[] _sentUs;
    private readonly int[] _perFlow;
    private readonly long _mask;
    private long _oldest; // every gseq below is resolved
    private long _next; // one past the newest gseq added

    public OutstandingFlows(int flowBuckets, int capacity = 65536)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(flowBuckets);
        if (capacity <= 0 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "must be a power of two");
        }
        _gseq = new long[capacity];
        Array.Fill(_gseq, Free);
        _flow = new int[capacity];
        _sentUs = new long[capacity];
        _perFlow = new int[flowBuckets];
        _mask = capacity - 1;
    }

    public int FlowBuckets => _perFlow.Length;

    /// <summary>Packets of <paramref name="flow"/> not yet acknowledged (nor aged out).</summary>
    public int Outstanding(int flow) => _perFlow[flow];

    /// <summary>
    /// Registers a new packet (not a repair) of <paramref name="flow"/>, first sent now. gseqs come in
    /// increasing order. True when every earlier packet of the flow was acknowledged: it may go express.
    /// </summary>
    public bool Add(long gseq, int flow, long nowUs)
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
        var clear = _perFlow[flow] == 0;
        if (_next == _oldest)
        {
            _oldest = gseq;
        }
        _next = gseq + 1;
        var s = (int)(gseq & _mask);
        _gseq[s] = gseq;
        _flow[s] = flow;
        _sentUs[s] = nowUs;
        _perFlow[flow]++;
        return clear;
    }

    /// <summary>A copy of <paramref name="gseq"/> was acknowledged (any path, any copy; repeats are ignored).</summary>
    public void Acknowledged(long gseq)
    {
        if (gseq >= _oldest && gseq < _next)
        {
            ResolveSlot(gseq);
        }
    }

    private void Expire(long nowUs)
    {
        while (_oldest < _next)
        {
            var s = (int)(_oldest & _mask);
            if (_gseq[s] == _oldest && nowUs - _sentUs[s] < MaxAgeUs)
            {
                return;
            }
            ResolveSlot(_oldest++);
        }
    }

    private void ResolveSlot(long gseq)
    {
        var s = (int)(gseq & _mask);
        if (_gseq[s] == gseq)
        {
            _gseq[s] = Free;
            _perFlow[_flow[s]]--;
        }
    }
}
