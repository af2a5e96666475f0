namespace WanBond.Core.Buffers;

/// <summary>
/// A pooled, fixed-capacity byte buffer holding one packet plus the metadata the engine
/// tracks for it while it is queued, in flight or held for reordering.
/// Rented from <see cref="PacketPool"/>, returned there when done: no allocation per packet.
/// </summary>
public sealed class PacketBuffer
{
    /// <summary>Largest datagram or inner packet the engine handles (jumbo frames are not supported).</summary>
    public const int Capacity = 2048;

    public byte[] Data { get; } = new byte[Capacity];

    /// <summary>Number of valid bytes at the start of <see cref="Data"/>.</summary>
    public int Length { get; set; }

    /// <summary>When the packet entered the stage that holds it (queue, reorder buffer), µs.</summary>
    public long TimestampUs { get; set; }

    /// <summary>Global sequence number assigned to the packet (data packets only).</summary>
    public long Sequence { get; set; }

    /// <summary>Depending on the stage: the flow bucket (sender queue, and the sender's copies of the packet until acknowledged) or the path id (reorder buffer).</summary>
    public int Tag { get; set; }

    /// <summary>Flow bucket of a packet held in the reorder buffer.</summary>
    public int Flow { get; set; }

    public Span<byte> Span => Data.AsSpan(0, Length);

    public ReadOnlySpan<byte> ReadOnlySpan => Data.AsSpan(0, Length);

    internal PacketBuffer? NextFree;

    internal void Reset()
    {
        Length = 0;
        TimestampUs = 0;
        Sequence = 0;
        Tag = 0;
        Flow = 0;
    }
}
