using WanBond.Core.Buffers;

namespace WanBond.Core.Paths;

/// <summary>What the sender remembers of one packet it put on a path, until acked or lost.</summary>
internal struct SentPacket
{
    public ulong PacketNumber;
    public long SentUs;
    /// <summary>Bytes on the wire (datagram), as counted against the window.</summary>
    public int Bytes;
    public bool InFlight;
    public bool AckEliciting;
    /// <summary>Data packets keep their inner packet until acknowledged, for repair.</summary>
    public PacketBuffer? Inner;
    public long Gseq;
    /// <summary>When the inner packet was first sent on any path (repairs keep the original time).</summary>
    public long FirstSentUs;
    /// <summary>Already sent again elsewhere (repair or reinjection): never twice.</summary>
    public bool Repaired;
    /// <summary>Path-delivered bytes and the receiver-clock time of the latest ack when this was sent: the start of its delivery-rate interval.</summary>
    public long DeliveredAtSend;
    public uint DeliveredRxTimeAtSend;
    public bool HasDeliveredSnapshot;
    public bool AppLimited;
    /// <summary>A data packet whose acknowledgement is still to be told to the express tracker.</summary>
    public bool Data;
}

/// <summary>
/// The packets of one path from the oldest unresolved to the newest, indexed by packet number
/// in a fixed ring: no allocation per packet.
/// </summary>
internal sealed class SentPacketRing
{
    private readonly SentPacket[] _ring;
    private readonly int _mask;

    public SentPacketRing(int capacity = 8192)
    {
        if (capacity <= 0 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "must be a power of two");
        }
        _ring = new SentPacket[capacity];
        _mask = capacity - 1;
    }

    /// <summary>Oldest packet number still held (everything below is resolved).</summary>
    public ulong Oldest { get; private set; }

    /// <summary>Next packet number to send on this path.</summary>
    public ulong Next { get; private set; }

    public bool IsFull => Next - Oldest >= (ulong)_ring.Length;

    public bool Contains(ulong pn) => pn >= Oldest && pn < Next;

    public ref SentPacket this[ulong pn] => ref _ring[(int)(pn & (ulong)_mask)];

    /// <summary>Takes the next packet number and returns its (cleared) slot.</summary>
    public ref SentPacket Add(out ulong pn)
    {
        pn = Next++;
        ref var slot = ref _ring[(int)(pn & (ulong)_mask)];
        slot = default;
        slot.PacketNumber = pn;
        return ref slot;
    }

    /// <summary>Moves <see cref="Oldest"/> past resolved (not in flight, nothing held) packets.</summary>
    public void Trim()
    {
        while (Oldest < Next)
        {
            ref var p = ref _ring[(int)(Oldest & (ulong)_mask)];
            if (p.InFlight || p.Inner is not null)
            {
                break;
            }
            Oldest++;
        }
    }
}
