using System.Buffers.Binary;

namespace WanBond.Core.Tests.Queueing;

/// <summary>Builds minimal IPv4/IPv6 packets for flow hashing and queue tests.</summary>
internal static class IpPackets
{
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Icmp = 1;

    /// <summary>IPv4 packet of <paramref name="totalLength"/> bytes; the 4 bytes after the ports carry <paramref name="seq"/>.</summary>
    public static byte[] V4(uint src, uint dst, byte protocol, ushort srcPort, ushort dstPort, int totalLength = 100,
        int seq = 0, int optionWords = 0, ushort fragmentField = 0)
    {
        int ihl = 20 + optionWords * 4;
        var p = new byte[Math.Max(totalLength, ihl + 8)];
        p[0] = (byte)(0x40 | (ihl / 4));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), fragmentField);
        p[8] = 64;
        p[9] = protocol;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), src);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16), dst);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ihl), srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ihl + 2), dstPort);
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(ihl + 4), seq);
        return p;
    }

    /// <summary>UDP/IPv4 packet of flow <paramref name="flow"/> (distinct source port) carrying <paramref name="seq"/>.</summary>
    public static byte[] Flow(int flow, int length, int seq = 0) =>
        V4(0x0A000001, 0x08080808, Udp, (ushort)(10_000 + flow), 443, length, seq);

    public static int SeqOf(ReadOnlySpan<byte> p) => BinaryPrimitives.ReadInt32BigEndian(p.Slice(24));

    /// <summary>IPv6 packet; <paramref name="extensions"/> are (type, 8-byte-unit length) headers inserted before the transport header.</summary>
    public static byte[] V6(byte lastByteSrc, byte protocol, ushort srcPort, ushort dstPort, int seq = 0,
        params (byte Type, int Units)[] extensions)
    {
        int extLength = 0;
        foreach (var e in extensions)
        {
            extLength += (e.Units + 1) * 8;
        }
        var p = new byte[40 + extLength + 8];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
        p[6] = extensions.Length > 0 ? extensions[0].Type : protocol;
        p[7] = 64;
        p[8] = 0x20;
        p[9] = 0x01;
        p[23] = lastByteSrc;
        p[24] = 0x20;
        p[25] = 0x01;
        p[39] = 0x99;
        int off = 40;
        for (int i = 0; i < extensions.Length; i++)
        {
            p[off] = i + 1 < extensions.Length ? extensions[i + 1].Type : protocol;
            p[off + 1] = (byte)(extensions[i].Type == 44 ? 0 : extensions[i].Units);
            off += (extensions[i].Units + 1) * 8;
        }
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(off), srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(off + 2), dstPort);
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(off + 4), seq);
        return p;
    }
}
