using System.Buffers.Binary;

namespace WanBond.Sim;

/// <summary>
/// Inner packets are real IPv4 packets: a 20-byte IPv4 header (valid checksum), a UDP (8 B)
/// or TCP (20 B) header with per-flow ports, then a simulator payload:
/// magic "WBSM", flow (u16), kind (u16), sequence (i64), timestamp µs (i64), padded with zeros.
/// For TCP data the sequence is the segment index and the timestamp the send time; for a TCP
/// ack the sequence is the next expected segment and the timestamp echoes the acked segment's
/// (it stands in for the TCP timestamp option).
/// </summary>
internal static class InnerPacket
{
    public const int Ipv4HeaderBytes = 20;
    public const int UdpHeaderBytes = 8;
    public const int TcpHeaderBytes = 20;
    public const int PayloadBytes = 24;
    public const int TcpAckBytes = Ipv4HeaderBytes + TcpHeaderBytes + PayloadBytes;
    private const uint Magic = 0x5742534D; // "WBSM"
    private const ushort BasePort = 40000;
    private const ushort ServerPort = 5201;

    public const ushort KindUdp = 1;
    public const ushort KindTcpData = 2;
    public const ushort KindTcpAck = 3;

    /// <summary>Writes a packet of <paramref name="totalLength"/> bytes into <paramref name="dst"/>.</summary>
    public static void Write(Span<byte> dst, int totalLength, ushort kind, int flow, long sequence, long timestampUs, bool fromServer, int mss)
    {
        bool tcp = kind != KindUdp;
        int l4 = tcp ? TcpHeaderBytes : UdpHeaderBytes;
        dst[..totalLength].Clear();
        // IPv4
        dst[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(dst[2..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(dst[4..], (ushort)sequence);
        dst[6] = 0x40; // don't fragment
        dst[8] = 64;
        dst[9] = tcp ? (byte)6 : (byte)17;
        // 10.8.0.1 (server side) and 10.8.0.2 (client side)
        ReadOnlySpan<byte> server = [10, 8, 0, 1];
        ReadOnlySpan<byte> client = [10, 8, 0, 2];
        (fromServer ? server : client).CopyTo(dst[12..]);
        (fromServer ? client : server).CopyTo(dst[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(dst[10..], Ipv4Checksum(dst[..Ipv4HeaderBytes]));
        var l4span = dst[Ipv4HeaderBytes..];
        ushort flowPort = (ushort)(BasePort + flow);
        BinaryPrimitives.WriteUInt16BigEndian(l4span, fromServer ? ServerPort : flowPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4span[2..], fromServer ? flowPort : ServerPort);
        if (tcp)
        {
            // Byte sequence / ack numbers (mod 2^32) for realism; the model reads the payload.
            uint byteSeq = (uint)(sequence * mss);
            if (kind == KindTcpData)
            {
                BinaryPrimitives.WriteUInt32BigEndian(l4span[4..], byteSeq);
                l4span[13] = 0x18; // PSH, ACK
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(l4span[8..], byteSeq);
                l4span[13] = 0x10; // ACK
            }
            l4span[12] = 0x50; // data offset 5 words
            BinaryPrimitives.WriteUInt16BigEndian(l4span[14..], 0xFFFF);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4span[4..], (ushort)(totalLength - Ipv4HeaderBytes));
        }
        var payload = l4span[l4..];
        BinaryPrimitives.WriteUInt32BigEndian(payload, Magic);
        BinaryPrimitives.WriteUInt16BigEndian(payload[4..], (ushort)flow);
        BinaryPrimitives.WriteUInt16BigEndian(payload[6..], kind);
        BinaryPrimitives.WriteInt64BigEndian(payload[8..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(payload[16..], timestampUs);
    }

    /// <summary>Reads the simulator fields back; false for a packet the simulator did not write.</summary>
    public static bool TryRead(ReadOnlySpan<byte> p, out ushort kind, out int flow, out long sequence, out long timestampUs)
    {
        kind = 0;
        flow = 0;
        sequence = 0;
        timestampUs = 0;
        if (p.Length < Ipv4HeaderBytes + UdpHeaderBytes + PayloadBytes || p[0] != 0x45)
        {
            return false;
        }
        int l4 = p[9] == 6 ? TcpHeaderBytes : UdpHeaderBytes;
        if (p.Length < Ipv4HeaderBytes + l4 + PayloadBytes)
        {
            return false;
        }
        var payload = p[(Ipv4HeaderBytes + l4)..];
        if (BinaryPrimitives.ReadUInt32BigEndian(payload) != Magic)
        {
            return false;
        }
        flow = BinaryPrimitives.ReadUInt16BigEndian(payload[4..]);
        kind = BinaryPrimitives.ReadUInt16BigEndian(payload[6..]);
        sequence = BinaryPrimitives.ReadInt64BigEndian(payload[8..]);
        timestampUs = BinaryPrimitives.ReadInt64BigEndian(payload[16..]);
        return true;
    }

    private static ushort Ipv4Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}
