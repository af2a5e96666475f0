using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// What a TUN with IFF_VNET_HDR and TSO offload (TUNSETOFFLOAD) hands over: a virtio_net_hdr, then either
/// one packet (perhaps with its transport checksum left to us: NEEDS_CSUM) or a TCP super-packet of up to
/// 64 KiB that we cut into MSS-sized segments, each with its own IP length, id, sequence number, flags and
/// checksums — what the kernel's GSO would have done, one copy per segment, no allocation.
/// </summary>
public static class TunOffload
{
    private const int H = TunSyscalls.VnetHeaderSize;
    private const byte NeedsCsum = 1;
    private const byte GsoNone = 0;
    private const byte GsoTcpV4 = 1;
    private const byte GsoTcpV6 = 4;
    private const byte GsoEcn = 0x80;

    /// <summary>How many packets <paramref name="read"/> (virtio_net_hdr + data) holds: 1, the segments of a super-packet, or 0 if unusable.</summary>
    public static int SegmentCount(ReadOnlySpan<byte> read)
    {
        if (read.Length <= H)
        {
            return 0;
        }
        var gso = (byte)(read[1] & ~GsoEcn);
        if (gso == GsoNone)
        {
            return 1;
        }
        if (!TryHeaders(read, gso, out var headers, out var mss))
        {
            return 0;
        }
        var payload = read.Length - H - headers;
        return payload <= 0 ? 1 : (payload + mss - 1) / mss;
    }

    /// <summary>Writes packet <paramref name="index"/> of <paramref name="read"/> into <paramref name="destination"/>: its length, or -1.</summary>
    public static int WriteSegment(ReadOnlySpan<byte> read, int index, Span<byte> destination)
    {
        var gso = (byte)(read[1] & ~GsoEcn);
        if (gso == GsoNone)
        {
            var packet = read[H..];
            if (packet.Length > destination.Length)
            {
                return -1;
            }
            packet.CopyTo(destination);
            if ((read[0] & NeedsCsum) != 0)
            {
                var start = BinaryPrimitives.ReadUInt16LittleEndian(read[6..]);
                var offset = BinaryPrimitives.ReadUInt16LittleEndian(read[8..]);
                if (start + offset + 2 > packet.Length)
                {
                    return -1;
                }
                // The field holds the pseudo-header sum: add the rest and complement.
                var sum = Checksum.Sum(destination[start..packet.Length], 0);
                var value = (ushort)~Checksum.Fold(sum);
                if (value == 0 && IsUdp(destination))
                {
                    value = 0xFFFF;
                }
                BinaryPrimitives.WriteUInt16BigEndian(destination[(start + offset)..], value);
            }
            return packet.Length;
        }
        if (!TryHeaders(read, gso, out var headers, out var mss))
        {
            return -1;
        }
        var data = read[H..];
        var payloadTotal = data.Length - headers;
        var first = index * mss;
        var length = Math.Min(mss, payloadTotal - first);
        if (length <= 0 || headers + length > destination.Length)
        {
            return -1;
        }
        data[..headers].CopyTo(destination);
        data.Slice(headers + first, length).CopyTo(destination[headers..]);
        var v4 = gso == GsoTcpV4;
        var ipLength = v4 ? (data[0] & 0xF) * 4 : 40;
        var tcp = destination[ipLength..(headers + length)];
        var last = first + length >= payloadTotal;
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], BinaryPrimitives.ReadUInt32BigEndian(data[(ipLength + 4)..]) + (uint)first);
        if (!last)
        {
            tcp[13] &= unchecked((byte)~0x09); // FIN, PSH only on the last segment
        }
        if (index > 0)
        {
            tcp[13] &= unchecked((byte)~0x80); // CWR only on the first
        }
        uint pseudo;
        if (v4)
        {
            var ip = destination[..ipLength];
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(headers + length));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(data[4..]) + index));
            ip[10] = 0;
            ip[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~Checksum.Fold(Checksum.Sum(ip, 0)));
            pseudo = Checksum.Sum(ip.Slice(12, 8), 0) + 6u + (uint)tcp.Length;
        }
        else
        {
            var ip = destination[..40];
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(headers - 40 + length));
            pseudo = Checksum.Sum(ip.Slice(8, 32), 0) + 6u + (uint)tcp.Length;
        }
        tcp[16] = 0;
        tcp[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~Checksum.Fold(Checksum.Sum(tcp, pseudo)));
        return headers + length;
    }

    private static bool IsUdp(ReadOnlySpan<byte> p) => p.Length >= 40 && ((p[0] >> 4 == 4 && p[9] == 17) || (p[0] >> 4 == 6 && p[6] == 17));

    /// <summary>IP + TCP header bytes and the segment size of a TCP super-packet, checked against its own headers.</summary>
    private static bool TryHeaders(ReadOnlySpan<byte> read, byte gso, out int headers, out int mss)
    {
        headers = 0;
        mss = BinaryPrimitives.ReadUInt16LittleEndian(read[4..]);
        var data = read[H..];
        int ipLength;
        if (gso == GsoTcpV4)
        {
            if (data.Length < 40 || data[0] >> 4 != 4 || data[9] != 6)
            {
                return false;
            }
            ipLength = (data[0] & 0xF) * 4;
        }
        else if (gso == GsoTcpV6)
        {
            if (data.Length < 60 || data[0] >> 4 != 6 || data[6] != 6)
            {
                return false; // extension headers: not something the kernel hands us as TSO
            }
            ipLength = 40;
        }
        else
        {
            return false;
        }
        if (data.Length < ipLength + 20)
        {
            return false;
        }
        headers = ipLength + (data[ipLength + 12] >> 4) * 4;
        return mss > 0 && headers <= data.Length;
    }
}

/// <summary>The Internet checksum (RFC 1071): one's complement sum of 16-bit words.</summary>
public static class Checksum
{
    /// <summary>
    /// One's complement sum of <paramref name="data"/> (as big-endian 16-bit words) plus <paramref name="initial"/>,
    /// not yet folded to 16 bits. Adds 8 bytes at a time in the machine's byte order with end-around carry
    /// and swaps at the end (RFC 1071: the sum is byte-order independent).
    /// </summary>
    public static uint Sum(ReadOnlySpan<byte> data, uint initial)
    {
        ref var r = ref MemoryMarshal.GetReference(data);
        var length = data.Length;
        ulong sum = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && length >= 64)
        {
            // 32 bytes at a time: each 64-bit lane adds the two 32-bit words it holds as plain integers (no carry can
            // be lost: a lane grows by < 2^33 per step). A plain sum of 32-bit words, folded, is the one's complement
            // sum of the 16-bit words (2^32 and 2^16 are both 1 modulo 0xFFFF), and the scalar loop below continues it.
            var mask = Vector256.Create(0xFFFF_FFFFUL);
            var a = Vector256<ulong>.Zero;
            var b = Vector256<ulong>.Zero;
            for (; i + 64 <= length; i += 64)
            {
                var x = Vector256.LoadUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref r, i)));
                var y = Vector256.LoadUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref r, i + 32)));
                a += (x & mask) + (x >>> 32);
                b += (y & mask) + (y >>> 32);
            }
            sum = Vector256.Sum(a + b);
        }
        for (; i + 8 <= length; i += 8)
        {
            var w = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref r, i));
            sum += w;
            if (sum < w)
            {
                sum++;
            }
        }
        ulong tail = 0;
        if (i + 4 <= length)
        {
            tail += Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref r, i));
            i += 4;
        }
        if (i + 2 <= length)
        {
            tail += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref r, i));
            i += 2;
        }
        if (i < length)
        {
            tail += BitConverter.IsLittleEndian ? Unsafe.Add(ref r, i) : (ulong)Unsafe.Add(ref r, i) << 8;
        }
        sum += tail;
        if (sum < tail)
        {
            sum++;
        }
        // 64 -> 16 bits with end-around carries, then to network order.
        var folded = (sum & 0xFFFFFFFF) + (sum >> 32);
        folded = (folded & 0xFFFF) + (folded >> 16);
        folded = (folded & 0xFFFF) + (folded >> 16);
        folded = (folded & 0xFFFF) + (folded >> 16);
        var network = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness((ushort)folded) : (ushort)folded;
        return network + initial;
    }

    public static ushort Fold(uint sum)
    {
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }
}
