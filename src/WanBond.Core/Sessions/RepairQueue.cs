using WanBond.Core.Buffers;

namespace WanBond.Core.Sessions;

/// <summary>
/// A data packet to send again, keeping its global sequence number. <paramref name="AvoidPath"/> is the path
/// the original is still queued on, as packet <paramref name="OriginPn"/> (a copy of a late packet), or -1 when
/// the original is gone (declared lost): a copy sent on the original's own path queues behind it and only
/// spends capacity.
/// </summary>
internal readonly record struct Repair(PacketBuffer Inner, long Gseq, long FirstSentUs, int AvoidPath, ulong OriginPn, bool Cancelled = false);

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

    public bool TryAdd(PacketBuffer inner, long gseq, long firstSentUs, int avoidPath = -1, ulong originPn = 0)
    {
        if (Count == _ring.Length)
        {
            return false;
        }
        _ring[(_head + Count) % _ring.Length] = new Repair(inner, gseq, firstSentUs, avoidPath, originPn);
        Count++;
        return true;
    }

    /// <summary>
    /// Marks the copies of <paramref name="gseq"/> still waiting as not needed (their original was acknowledged:
    /// sent, they would only reach a receiver that already has them). They come out of <see cref="TryTake"/>
    /// with <see cref="Repair.Cancelled"/> set, for the caller to release.
    /// </summary>
    public void Cancel(long gseq)
    {
        for (var k = 0; k < Count; k++)
        {
            ref var r = ref _ring[(_head + k) % _ring.Length];
            if (r.Gseq == gseq && !r.Cancelled)
            {
                r = r with { Cancelled = true };
            }
        }
    }

    /// <summary>The oldest repair, whatever path it avoids.</summary>
    public bool TryPeek(out Repair repair)
    {
        repair = Count == 0 ? default : _ring[_head];
        return Count > 0;
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
