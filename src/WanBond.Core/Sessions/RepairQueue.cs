using WanBond.Core.Buffers;

namespace WanBond.Core.Sessions;

/// <summary>A data packet to send again on another path, keeping its global sequence number.</summary>
internal readonly record struct Repair(PacketBuffer Inner, long Gseq, long FirstSentUs);

/// <summary>
/// Packets lost on a path, or stuck on a stalled one, waiting to be sent again (DESIGN.md point 5).
/// Served before new data: the receiver is holding later packets for them. Bounded ring.
/// </summary>
internal sealed class RepairQueue
{
    private readonly Repair[] _ring;
    private int _head;

    public RepairQueue(int capacity)
    {
        _ring = new Repair[capacity];
    }

    public int Count { get; private set; }

    public bool TryAdd(PacketBuffer inner, long gseq, long firstSentUs)
    {
        if (Count == _ring.Length)
        {
            return false;
        }
        _ring[(_head + Count) % _ring.Length] = new Repair(inner, gseq, firstSentUs);
        Count++;
        return true;
    }

    public bool TryTake(out Repair repair)
    {
        if (Count == 0)
        {
            repair = default;
            return false;
        }
        repair = _ring[_head];
        _ring[_head] = default;
        _head = (_head + 1) % _ring.Length;
        Count--;
        return true;
    }
}
