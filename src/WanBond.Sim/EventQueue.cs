using WanBond.Core.Buffers;

namespace WanBond.Sim;

internal enum EventKind : byte
{
    LinkService,
    LinkArrival,
    EngineTimer,
    FlowTimer,
    WorkloadTick,
    Sample,
    TimelineTick,
}

/// <summary>One scheduled event. A struct, so scheduling allocates nothing.</summary>
internal struct SimEvent
{
    public long TimeUs;
    public long Seq;
    public EventKind Kind;
    public int Target;
    public PacketBuffer? Packet;
}

/// <summary>
/// Array-backed binary min-heap keyed by (time, insertion sequence): events at the same
/// time run in the order they were scheduled, which keeps runs deterministic.
/// </summary>
internal sealed class EventQueue
{
    private SimEvent[] _heap = new SimEvent[1024];
    private long _seq;

    public int Count { get; private set; }

    public void Push(long timeUs, EventKind kind, int target, PacketBuffer? packet = null)
    {
        if (Count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }
        var e = new SimEvent { TimeUs = timeUs, Seq = _seq++, Kind = kind, Target = target, Packet = packet };
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(in e, in _heap[parent]))
            {
                break;
            }
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = e;
    }

    public long PeekTime => Count == 0 ? long.MaxValue : _heap[0].TimeUs;

    public SimEvent Pop()
    {
        var top = _heap[0];
        var last = _heap[--Count];
        _heap[Count] = default;
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= Count)
            {
                break;
            }
            if (child + 1 < Count && Less(in _heap[child + 1], in _heap[child]))
            {
                child++;
            }
            if (!Less(in _heap[child], in last))
            {
                break;
            }
            _heap[i] = _heap[child];
            i = child;
        }
        if (Count > 0)
        {
            _heap[i] = last;
        }
        return top;
    }

    private static bool Less(in SimEvent a, in SimEvent b) => a.TimeUs < b.TimeUs || (a.TimeUs == b.TimeUs && a.Seq < b.Seq);
}
