using System.Buffers.Binary;

namespace WanBond.Core.Wire;

/// <summary>
/// Sealed payload of a <see cref="PacketType.Probe"/> packet, an ack-eliciting keepalive of one path:
/// <c>u32 gseqWatermark, u8 flags</c>, then optional zero padding that the receiver ignores
/// (padding lets a probe test whether a path carries a datagram of a given size).
/// </summary>
public static class ProbeFrame
{
    public const int MinSize = 5;

    /// <summary>
    /// Flag: the sender is sending again, on other paths, data that is stuck on a stalled path, up to the
    /// watermark. The receiver holds its holes longer instead of releasing past them.
    /// </summary>
    public const byte RepairsFollow = 0x01;

    /// <summary>
    /// Writes the probe and <paramref name="padding"/> zero bytes.
    /// <paramref name="gseqWatermark"/> is the next gseq the sender will assign: the receiver learns
    /// that nothing older is still in flight on this path. Flags: <see cref="RepairsFollow"/>; other bits are 0.
    /// </summary>
    /// <returns>Bytes written, padding included.</returns>
    public static int Write(Span<byte> plain, uint gseqWatermark, byte flags, int padding = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        int length = MinSize + padding;
        if (plain.Length < length)
        {
            throw new ArgumentException("Destination is shorter than the probe.", nameof(plain));
        }

        BinaryPrimitives.WriteUInt32BigEndian(plain, gseqWatermark);
        plain[4] = flags;
        plain.Slice(MinSize, padding).Clear();
        return length;
    }

    /// <summary>Reads a probe; bytes after <see cref="MinSize"/> are padding and not inspected.</summary>
    public static bool TryParse(ReadOnlySpan<byte> plain, out uint gseqWatermark, out byte flags, out DropReason reason)
    {
        if (plain.Length < MinSize)
        {
            gseqWatermark = 0;
            flags = 0;
            reason = DropReason.Truncated;
            return false;
        }

        gseqWatermark = BinaryPrimitives.ReadUInt32BigEndian(plain);
        flags = plain[4];
        reason = DropReason.None;
        return true;
    }
}
