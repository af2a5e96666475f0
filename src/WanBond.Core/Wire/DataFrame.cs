using System.Buffers.Binary;

namespace WanBond.Core.Wire;

/// <summary>
/// Sealed payload of a <see cref="PacketType.Data"/> packet: <c>u32 gseq</c>, then one inner IP packet.
/// The global sequence number orders packets across all paths for the receiver's reorder buffer;
/// it wraps at 2^32 and is widened with <see cref="SequenceNumbers.ExpandGseq"/>.
/// </summary>
public static class DataFrame
{
    public const int HeaderSize = 4;

    /// <summary>Smallest inner IPv4 packet: a header without options.</summary>
    public const int MinIPv4Length = 20;

    /// <summary>Smallest inner IPv6 packet: the fixed header.</summary>
    public const int MinIPv6Length = 40;

    /// <summary>
    /// Bytes a data packet adds around its inner packet with a seal of <paramref name="tagLength"/>:
    /// clear header + gseq + tag (32 with a 16-byte tag).
    /// </summary>
    public static int Overhead(int tagLength) => ClearHeader.Size + HeaderSize + tagLength;

    /// <summary>Writes the gseq; the caller puts the inner packet at <c>plain[HeaderSize..]</c>.</summary>
    public static void WriteHeader(Span<byte> plain, uint gseq) => BinaryPrimitives.WriteUInt32BigEndian(plain, gseq);

    /// <param name="plain">The opened payload (without the tag).</param>
    /// <param name="inner">The inner IP packet, a slice of <paramref name="plain"/>.</param>
    public static bool TryParse(ReadOnlySpan<byte> plain, out uint gseq, out ReadOnlySpan<byte> inner, out DropReason reason)
    {
        gseq = 0;
        inner = default;
        if (plain.Length < HeaderSize)
        {
            reason = DropReason.Truncated;
            return false;
        }

        var packet = plain[HeaderSize..];
        // Only the version nibble and minimum header size are checked: enough to keep garbage out of
        // the TUN device, which validates the rest itself.
        int ipVersion = packet.IsEmpty ? 0 : packet[0] >> 4;
        bool ok = ipVersion switch
        {
            4 => packet.Length >= MinIPv4Length,
            6 => packet.Length >= MinIPv6Length,
            _ => false,
        };
        if (!ok)
        {
            reason = DropReason.BadInnerPacket;
            return false;
        }

        gseq = BinaryPrimitives.ReadUInt32BigEndian(plain);
        inner = packet;
        reason = DropReason.None;
        return true;
    }
}
