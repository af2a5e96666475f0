using System.Buffers.Binary;

namespace WanBond.Linux.Datapath;

/// <summary>Reads addresses out of an inner IPv4/IPv6 packet, as a 128-bit key (IPv4 in the low 32 bits).</summary>
public static class InnerPacket
{
    public static bool TryGetSource(ReadOnlySpan<byte> packet, out UInt128 address) => TryGet(packet, 12, 8, out address);

    public static bool TryGetDestination(ReadOnlySpan<byte> packet, out UInt128 address) => TryGet(packet, 16, 24, out address);

    private static bool TryGet(ReadOnlySpan<byte> packet, int v4Offset, int v6Offset, out UInt128 address)
    {
        address = default;
        if (packet.Length < 20)
        {
            return false;
        }
        switch (packet[0] >> 4)
        {
            case 4:
                address = ((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(packet[v4Offset..]); // as IPv4-mapped IPv6
                return true;
            case 6 when packet.Length >= 40:
                address = BinaryPrimitives.ReadUInt128BigEndian(packet[v6Offset..]);
                return true;
            default:
                return false;
        }
    }
}
