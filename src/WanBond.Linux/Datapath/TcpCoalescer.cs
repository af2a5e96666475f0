using System.Buffers.Binary;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// Merges consecutive IPv4 or IPv6 TCP segments of one flow into one super-packet with a virtio_net_hdr asking
/// for TCP segmentation (GSO), so a TUN with IFF_VNET_HDR takes a burst of segments in one write and the
/// kernel carries it through forwarding, NAT and veth as one packet — as GRO would on a NIC (and as
/// wireguard-go does). Segments merge when they are contiguous in sequence, carry only ACK (PSH ends a
/// run), have the same size (a shorter one ends a run), and agree on everything else in their headers,
/// options included (Linux GRO's own rule). Anything else is written as it came, with an empty header.
/// </summary>
public sealed class TcpCoalescer
{
    /// <summary>Largest IPv4 packet: a super-packet never grows past it (nor an IPv6 one past 40 + 65535).</summary>
    public const int MaxPacket = 65535;

    private const int H = TunSyscalls.VnetHeaderSize;
    private const byte TcpAck = 0x10;
    private const byte TcpPsh = 0x08;

    private readonly byte[] _buffer = new byte[H + MaxPacket];
    private readonly Func<ReadOnlyMemory<byte>, int> _write;
    private int _length;        // bytes of IP packet in _buffer after the header (0: nothing held)
    private int _headerLength;  // IP + TCP header bytes
    private int _ipLength;      // 20 (IPv4) or 40 (IPv6)
    private int _segment;       // payload bytes of the first segment (the GSO size)
    private int _count;
    private uint _nextSeq;
    private bool _closed;       // a short or PSH segment ended the run

    /// <param name="write">Writes a buffer (virtio_net_hdr + packet); returns bytes written or -errno.</param>
    public TcpCoalescer(Func<ReadOnlyMemory<byte>, int> write) => _write = write;

    /// <summary>Writes that failed.</summary>
    public long Errors { get; private set; }

    /// <summary>Super-packets written (for tests and counters).</summary>
    public long Merged { get; private set; }

    public bool IsHolding => _length > 0;

    /// <summary>Takes one packet: merged into the run held, or starts a new one, or is written at once.</summary>
    public void Add(ReadOnlySpan<byte> packet)
    {
        var payload = TcpPayload(packet, out var ipLength, out var headerLength);
        if (payload <= 0)
        {
            Flush();
            WritePlain(packet);
            return;
        }
        if (_length > 0 && CanAppend(packet, ipLength, headerLength, payload))
        {
            packet[headerLength..].CopyTo(_buffer.AsSpan(H + _length));
            _length += payload;
            _count++;
            _nextSeq += (uint)payload;
            var flags = packet[ipLength + 13];
            if (payload < _segment || (flags & TcpPsh) != 0)
            {
                _buffer[H + ipLength + 13] |= (byte)(flags & TcpPsh);
                _closed = true;
            }
            return;
        }
        Flush();
        packet.CopyTo(_buffer.AsSpan(H));
        _length = packet.Length;
        _ipLength = ipLength;
        _headerLength = headerLength;
        _segment = payload;
        _count = 1;
        _nextSeq = BinaryPrimitives.ReadUInt32BigEndian(packet[(ipLength + 4)..]) + (uint)payload;
        _closed = (packet[ipLength + 13] & TcpPsh) != 0;
    }

    /// <summary>Writes the run held, if any.</summary>
    public void Flush()
    {
        if (_length == 0)
        {
            return;
        }
        var header = _buffer.AsSpan(0, H);
        header.Clear();
        if (_count > 1)
        {
            var ip = _buffer.AsSpan(H, _length);
            var tcpLength = _length - _ipLength;
            uint pseudo;
            if (_ipLength == 20)
            {
                BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)_length);
                ip[10] = 0;
                ip[11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~Fold(Sum(ip[..20], 0)));
                pseudo = Sum(ip.Slice(12, 8), 0) + 6u + (uint)tcpLength;
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)tcpLength);
                pseudo = Sum(ip.Slice(8, 32), 0) + 6u + (uint)tcpLength;
            }
            // CHECKSUM_PARTIAL: the TCP checksum field holds the pseudo-header sum; the kernel completes it per segment.
            BinaryPrimitives.WriteUInt16BigEndian(ip[(_ipLength + 16)..], Fold(pseudo));
            header[0] = 1;                                                     // VIRTIO_NET_HDR_F_NEEDS_CSUM
            header[1] = _ipLength == 20 ? (byte)1 : (byte)4;                   // VIRTIO_NET_HDR_GSO_TCPV4 / TCPV6
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], (ushort)_headerLength);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], (ushort)_segment);
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)_ipLength); // csum_start: the TCP header
            BinaryPrimitives.WriteUInt16LittleEndian(header[8..], 16);         // csum_offset: its checksum field
            Merged++;
        }
        if (_write(_buffer.AsMemory(0, H + _length)) < 0)
        {
            Errors++;
        }
        _length = 0;
    }

    /// <summary>Writes a packet as it is, behind an empty virtio_net_hdr.</summary>
    private void WritePlain(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacket)
        {
            Errors++;
            return;
        }
        _buffer.AsSpan(0, H).Clear();
        packet.CopyTo(_buffer.AsSpan(H));
        if (_write(_buffer.AsMemory(0, H + packet.Length)) < 0)
        {
            Errors++;
        }
    }

    /// <summary>
    /// TCP payload bytes of a mergeable segment, else 0: IPv4 without options and not a fragment, or IPv6 with TCP
    /// as its next header (no extension headers); only ACK/PSH set.
    /// </summary>
    private static int TcpPayload(ReadOnlySpan<byte> p, out int ipLength, out int headerLength)
    {
        headerLength = 0;
        if (p.Length >= 60 && p[0] >> 4 == 6)
        {
            ipLength = 40;
            if (p[6] != 6 || BinaryPrimitives.ReadUInt16BigEndian(p[4..]) != p.Length - 40)
            {
                return 0;
            }
        }
        else
        {
            ipLength = 20;
            if (p.Length < 40 || p[0] != 0x45 || p[9] != 6 || (p[6] & 0x3F) != 0 || p[7] != 0 || BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != p.Length)
            {
                return 0;
            }
        }
        var tcpHeader = (p[ipLength + 12] >> 4) * 4;
        var flags = p[ipLength + 13];
        if (tcpHeader < 20 || ipLength + tcpHeader >= p.Length || (flags & ~(TcpAck | TcpPsh)) != 0 || (flags & TcpAck) == 0)
        {
            return 0;
        }
        headerLength = ipLength + tcpHeader;
        return p.Length - headerLength;
    }

    private bool CanAppend(ReadOnlySpan<byte> p, int ipLength, int headerLength, int payload)
    {
        if (_closed || ipLength != _ipLength || headerLength != _headerLength || payload > _segment || _length + payload > MaxPacket)
        {
            return false;
        }
        var held = _buffer.AsSpan(H, _headerLength);
        bool sameIp = ipLength == 20
            // IPv4: version..TOS, flags..addresses (not length, id, checksum).
            ? p[..2].SequenceEqual(held[..2]) && p[6..10].SequenceEqual(held[6..10]) && p[12..20].SequenceEqual(held[12..20])
            // IPv6: version, traffic class, flow label; next header, hop limit, addresses (not the payload length).
            : p[..4].SequenceEqual(held[..4]) && p[6..40].SequenceEqual(held[6..40]);
        var t = ipLength;
        // TCP: ports; ack..window; options (not seq, checksum, urgent).
        return sameIp
            && p[t..(t + 4)].SequenceEqual(held[t..(t + 4)])
            && BinaryPrimitives.ReadUInt32BigEndian(p[(t + 4)..]) == _nextSeq
            && p[(t + 8)..(t + 13)].SequenceEqual(held[(t + 8)..(t + 13)])
            && (p[t + 13] & ~TcpPsh) == (held[t + 13] & ~TcpPsh)
            && p[(t + 14)..(t + 16)].SequenceEqual(held[(t + 14)..(t + 16)])
            && p[(t + 20)..headerLength].SequenceEqual(held[(t + 20)..headerLength]);
    }

    private static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        for (var i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if ((data.Length & 1) != 0)
        {
            sum += (uint)data[^1] << 8;
        }
        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }
}
