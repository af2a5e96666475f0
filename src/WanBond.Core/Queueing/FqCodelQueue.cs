using System.Diagnostics.CodeAnalysis;
using WanBond.Core.Buffers;

namespace WanBond.Core.Queueing;

/// <summary>
/// The sender's own bottleneck queue: flow queuing with deficit round robin and CoDel per flow,
/// as Linux fq_codel (RFC 8290, CoDel per RFC 8289). Sparse flows (a video call, DNS, ACKs) get
/// ahead of bulk flows, and CoDel keeps each bulk flow's standing queue near <c>targetUs</c>.
/// All state lives in arrays sized in the constructor: nothing is allocated per packet.
/// Not thread-safe.
/// </summary>
public sealed partial class FqCodelQueue
{
    private const int None = -1;
    private const long NotSet = long.MinValue;

    private enum FlowList : byte
    {
        None,
        New,
        Old,
    }

    private struct Flow
    {
        public int Head; // node index of the oldest packet, None if empty
        public int Tail;
        public int Bytes;
        public int Count;
        public int Deficit;
        public int ListNext; // next flow in the new or old list
        public FlowList List;

        // CoDel state (RFC 8289), kept across idle periods as in Linux.
        public bool Dropping;
        public int DropCount;
        public int LastDropCount;
        public long FirstAboveUs;
        public long DropNextUs;
    }

    private struct Node
    {
        public PacketBuffer? Packet;
        public int Next;
    }

    private readonly PacketPool _pool;
    private readonly int _byteLimit;
    private readonly int _packetLimit;
    private long _targetUs;
    private readonly long _intervalUs;
    private readonly int _quantum;
    private readonly Flow[] _flows;
    private readonly Node[] _nodes;
    private int _freeNode;
    private int _newHead = None;
    private int _newTail = None;
    private int _oldHead = None;
    private int _oldTail = None;
    private int _maxPacket;

    /// <param name="pool">Where queued packets are copied to; dequeued buffers are the caller's to return.</param>
    /// <param name="byteLimit">Most bytes (sum of packet lengths) held at once.</param>
    /// <param name="targetUs">CoDel target: acceptable standing sojourn.</param>
    /// <param name="intervalUs">CoDel interval: how long the sojourn may stay above target before dropping starts.</param>
    /// <param name="quantum">DRR quantum in bytes, about one MTU.</param>
    /// <param name="flowSlots">Number of flow queues; flows hash into them.</param>
    /// <param name="packetLimit">Most packets held at once (fq_codel's <c>limit</c>). Bounds memory when packets
    /// are tiny, because every packet takes a whole pooled buffer whatever its length.</param>
    public FqCodelQueue(PacketPool pool, int byteLimit, long targetUs = 5_000, long intervalUs = 100_000,
        int quantum = 1514, int flowSlots = 1024, int packetLimit = 10_240)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(byteLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(targetUs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(intervalUs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quantum);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(flowSlots);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(packetLimit);
        _pool = pool;
        _byteLimit = byteLimit;
        _packetLimit = packetLimit;
        _targetUs = targetUs;
        _intervalUs = intervalUs;
        _quantum = quantum;
        _flows = new Flow[flowSlots];
        for (int i = 0; i < flowSlots; i++)
        {
            _flows[i] = new Flow { Head = None, Tail = None, ListNext = None, FirstAboveUs = NotSet };
        }
        _nodes = new Node[packetLimit];
        for (int i = 0; i < packetLimit; i++)
        {
            _nodes[i].Next = i + 1 < packetLimit ? i + 1 : None;
        }
        _freeNode = 0;
    }

    /// <summary>Bytes queued (sum of packet lengths); never above the byte limit.</summary>
    public int Bytes { get; private set; }

    /// <summary>Packets queued.</summary>
    public int Count { get; private set; }

    /// <summary>Flows with at least one packet queued.</summary>
    public int ActiveFlows { get; private set; }

    /// <summary>Packets dropped because the queue was full (including ones refused outright).</summary>
    public long DroppedOverflow { get; private set; }

    /// <summary>Packets dropped by CoDel at dequeue.</summary>
    public long DroppedCodel { get; private set; }

    /// <summary>
    /// Copies <paramref name="ipPacket"/> into a pooled buffer and queues it in its flow.
    /// When full, drops from the head of the fattest flow (as fq_codel) until the packet fits.
    /// Returns false only if this packet itself was not kept (larger than the limit or a pooled buffer).
    /// </summary>
    public bool Enqueue(ReadOnlySpan<byte> ipPacket, long nowUs)
    {
        int length = ipPacket.Length;
        if (length > _byteLimit || length > PacketBuffer.Capacity)
        {
            DroppedOverflow++;
            return false;
        }
        while (Bytes + length > _byteLimit || Count >= _packetLimit)
        {
            DropFromFattestFlow();
        }

        int slot = (int)((uint)FlowHash(ipPacket) % (uint)_flows.Length);
        var packet = _pool.Rent(ipPacket);
        packet.TimestampUs = nowUs;
        packet.Tag = slot;

        int node = _freeNode;
        _freeNode = _nodes[node].Next;
        _nodes[node].Packet = packet;
        _nodes[node].Next = None;

        ref var flow = ref _flows[slot];
        if (flow.Tail == None)
        {
            flow.Head = node;
        }
        else
        {
            _nodes[flow.Tail].Next = node;
        }
        flow.Tail = node;
        if (flow.Count == 0)
        {
            ActiveFlows++;
        }
        flow.Count++;
        flow.Bytes += length;
        Count++;
        Bytes += length;
        if (length > _maxPacket)
        {
            _maxPacket = length;
        }

        if (flow.List == FlowList.None)
        {
            // A flow that was idle counts as new: it gets served before the old (bulk) flows.
            Append(ref _newHead, ref _newTail, slot, FlowList.New);
            flow.Deficit = _quantum;
        }
        return true;
    }

    /// <summary>
    /// The next packet by DRR over new flows, then old flows; CoDel may drop packets of the chosen
    /// flow on the way. The caller owns the returned buffer and returns it to the pool.
    /// </summary>
    public bool TryDequeue(long nowUs, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        while (true)
        {
            bool fromNew;
            int slot;
            if (_newHead != None)
            {
                fromNew = true;
                slot = _newHead;
            }
            else if (_oldHead != None)
            {
                fromNew = false;
                slot = _oldHead;
            }
            else
            {
                packet = null;
                return false;
            }

            ref var flow = ref _flows[slot];
            if (flow.Deficit <= 0)
            {
                flow.Deficit += _quantum;
                PopListHead(fromNew);
                Append(ref _oldHead, ref _oldTail, slot, FlowList.Old);
                continue;
            }

            var p = CodelDequeue(ref flow, nowUs);
            if (p is null)
            {
                PopListHead(fromNew);
                // An emptied new flow goes to the old list so it cannot re-enter as new
                // at once and starve the old flows (RFC 8290 section 4.2).
                if (fromNew && _oldHead != None)
                {
                    Append(ref _oldHead, ref _oldTail, slot, FlowList.Old);
                }
                else
                {
                    flow.List = FlowList.None;
                }
                continue;
            }

            flow.Deficit -= p.Length;
            packet = p;
            return true;
        }
    }

    /// <summary>Sojourn of the oldest queued packet, 0 if empty.</summary>
    /// <summary>CoDel's target sojourn, µs; may change while running (the engine widens it by the paths' delay spread).</summary>
    public long TargetUs
    {
        get => _targetUs;
        set => _targetUs = Math.Max(0, value);
    }

    public long HeadSojournUs(long nowUs)
    {
        long oldest = long.MaxValue;
        OldestHead(_newHead, ref oldest);
        OldestHead(_oldHead, ref oldest);
        return oldest == long.MaxValue ? 0 : Math.Max(0, nowUs - oldest);
    }

    private void OldestHead(int slot, ref long oldest)
    {
        for (; slot != None; slot = _flows[slot].ListNext)
        {
            int head = _flows[slot].Head;
            if (head != None)
            {
                oldest = Math.Min(oldest, _nodes[head].Packet!.TimestampUs);
            }
        }
    }

    // RFC 8289 dequeue: decides whether to drop at the head of one flow and returns the packet to send.
    private PacketBuffer? CodelDequeue(ref Flow flow, long nowUs)
    {
        var p = CodelPop(ref flow, nowUs, out bool okToDrop);
        if (p is null)
        {
            flow.Dropping = false;
            return null;
        }
        if (flow.Dropping)
        {
            if (!okToDrop)
            {
                flow.Dropping = false;
            }
            else
            {
                while (p is not null && flow.Dropping && nowUs >= flow.DropNextUs)
                {
                    Drop(p);
                    flow.DropCount++;
                    p = CodelPop(ref flow, nowUs, out okToDrop);
                    if (p is null || !okToDrop)
                    {
                        flow.Dropping = false;
                    }
                    else
                    {
                        flow.DropNextUs = ControlLaw(flow.DropNextUs, flow.DropCount);
                    }
                }
            }
        }
        else if (okToDrop)
        {
            Drop(p);
            p = CodelPop(ref flow, nowUs, out _);
            flow.Dropping = true;
            // Re-entering drop state soon after leaving it: resume near the old drop rate
            // instead of starting over, since the queue was not really under control.
            int delta = flow.DropCount - flow.LastDropCount;
            flow.DropCount = delta > 1 && nowUs - flow.DropNextUs < 16 * _intervalUs ? delta : 1;
            flow.LastDropCount = flow.DropCount;
            flow.DropNextUs = ControlLaw(nowUs, flow.DropCount);
        }
        return p;
    }

    // Pops the flow's head and says whether its sojourn has stayed above target for an interval.
    private PacketBuffer? CodelPop(ref Flow flow, long nowUs, out bool okToDrop)
    {
        okToDrop = false;
        var p = PopFlowHead(ref flow);
        if (p is null)
        {
            flow.FirstAboveUs = NotSet;
            return null;
        }
        long sojourn = nowUs - p.TimestampUs;
        // Less than a packet left in the whole queue (as Linux) means the link is not the bottleneck now.
        if (sojourn < _targetUs || Bytes <= _maxPacket)
        {
            flow.FirstAboveUs = NotSet;
        }
        else if (flow.FirstAboveUs == NotSet)
        {
            flow.FirstAboveUs = nowUs + _intervalUs;
        }
        else if (nowUs >= flow.FirstAboveUs)
        {
            okToDrop = true;
        }
        return p;
    }

    private long ControlLaw(long tUs, int count) => tUs + (long)(_intervalUs / Math.Sqrt(count));

    private void Drop(PacketBuffer p)
    {
        DroppedCodel++;
        _pool.Return(p);
    }

    private void DropFromFattestFlow()
    {
        int fattest = None;
        FindFattest(_newHead, ref fattest);
        FindFattest(_oldHead, ref fattest);
        if (fattest == None)
        {
            throw new InvalidOperationException("queue is over its limit with no packet to drop");
        }
        var p = PopFlowHead(ref _flows[fattest])!;
        DroppedOverflow++;
        _pool.Return(p);
    }

    private void FindFattest(int slot, ref int fattest)
    {
        for (; slot != None; slot = _flows[slot].ListNext)
        {
            ref var f = ref _flows[slot];
            if (f.Count == 0)
            {
                continue;
            }
            if (fattest == None || f.Bytes > _flows[fattest].Bytes
                || (f.Bytes == _flows[fattest].Bytes && f.Count > _flows[fattest].Count))
            {
                fattest = slot;
            }
        }
    }

    private PacketBuffer? PopFlowHead(ref Flow flow)
    {
        int node = flow.Head;
        if (node == None)
        {
            return null;
        }
        var p = _nodes[node].Packet!;
        flow.Head = _nodes[node].Next;
        if (flow.Head == None)
        {
            flow.Tail = None;
        }
        _nodes[node].Packet = null;
        _nodes[node].Next = _freeNode;
        _freeNode = node;
        flow.Count--;
        flow.Bytes -= p.Length;
        if (flow.Count == 0)
        {
            ActiveFlows--;
        }
        Count--;
        Bytes -= p.Length;
        return p;
    }

    private void Append(ref int head, ref int tail, int slot, FlowList list)
    {
        ref var flow = ref _flows[slot];
        flow.List = list;
        flow.ListNext = None;
        if (tail == None)
        {
            head = slot;
        }
        else
        {
            _flows[tail].ListNext = slot;
        }
        tail = slot;
    }

    private void PopListHead(bool fromNew)
    {
        if (fromNew)
        {
            int slot = _newHead;
            _newHead = _flows[slot].ListNext;
            if (_newHead == None)
            {
                _newTail = None;
            }
            _flows[slot].ListNext = None;
        }
        else
        {
            int slot = _oldHead;
            _oldHead = _flows[slot].ListNext;
            if (_oldHead == None)
            {
                _oldTail = None;
            }
            _flows[slot].ListNext = None;
        }
    }
}
