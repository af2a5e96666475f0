using System.Buffers.Binary;
using System.Net;
using WanBond.Linux.Datapath;
using WanBond.Linux.Native;

namespace WanBond.Linux.Tests;

/// <summary>The datapath's batching that runs unprivileged: TCP coalescing for TUN writes, TSO segmentation of TUN reads, UDP GSO/GRO on loopback.</summary>
public class OffloadTests
{
    private const int H = TunSyscalls.VnetHeaderSize;

    private static ushort ReferenceChecksum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        var sum = initial;
        for (var i = 0; i < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8 | (i + 1 < data.Length ? data[i + 1] : 0));
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    /// <summary>An IPv4 TCP segment with timestamps, valid checksums, and payload bytes derived from the sequence number.</summary>
    private static byte[] Segment(uint seq, int payload, ushort id, byte flags = 0x10, ushort srcPort = 1000)
    {
        var p = new byte[20 + 32 + payload];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = 6;
        p[12] = 10; p[15] = 1;
        p[16] = 10; p[19] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), ReferenceChecksum(p.AsSpan(0, 20)));
        var t = p.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(t, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], 2000);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], 777);
        t[12] = 8 << 4;
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], 500);
        t[20] = 1; t[21] = 1; t[22] = 8; t[23] = 10; // NOP NOP timestamps
        BinaryPrimitives.WriteUInt32BigEndian(t[24..], 12345);
        BinaryPrimitives.WriteUInt32BigEndian(t[28..], 6789);
        for (var i = 0; i < payload; i++)
        {
            t[32 + i] = (byte)(seq + i);
        }
        FixTcp(p);
        return p;
    }

    private static void FixTcp(byte[] p)
    {
        var t = p.AsSpan(20);
        t[16] = 0; t[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(t[16..], ReferenceChecksum(t, Pseudo(p)));
    }

    private static uint Pseudo(byte[] p)
        => (uint)(p[12] << 8 | p[13]) + (uint)(p[14] << 8 | p[15]) + (uint)(p[16] << 8 | p[17]) + (uint)(p[18] << 8 | p[19]) + 6u + (uint)(p.Length - 20);

    private static bool ChecksumsValid(ReadOnlySpan<byte> p)
    {
        var arr = p.ToArray();
        return ReferenceChecksum(arr.AsSpan(0, 20)) == 0 && ReferenceChecksum(arr.AsSpan(20), Pseudo(arr)) == 0;
    }

    [Fact]
    public void Contiguous_segments_merge_into_one_gso_write_that_segments_back_into_the_same_packets()
    {
        var originals = new List<byte[]>();
        uint seq = 1_000_000;
        for (var i = 0; i < 5; i++)
        {
            var last = i == 4;
            var len = last ? 300 : 1368;
            originals.Add(Segment(seq, len, (ushort)(40 + i), last ? (byte)0x18 : (byte)0x10));
            seq += (uint)len;
        }
        var writes = new List<byte[]>();
        var c = new TcpCoalescer(m => { writes.Add(m.ToArray()); return m.Length; });
        foreach (var o in originals)
        {
            c.Add(o);
        }
        Assert.Empty(writes); // held until the round ends
        c.Flush();
        var w = Assert.Single(writes);
        Assert.Equal(1, w[0]); // NEEDS_CSUM
        Assert.Equal(1, w[1]); // GSO_TCPV4
        Assert.Equal(1368, BinaryPrimitives.ReadUInt16LittleEndian(w.AsSpan(4)));
        Assert.Equal(originals.Sum(o => o.Length - 52) + 52, w.Length - H);

        // What the kernel's segmentation makes of it is what TunOffload makes of a TSO read: the originals.
        Assert.Equal(5, TunOffload.SegmentCount(w));
        var buffer = new byte[2048];
        for (var i = 0; i < 5; i++)
        {
            var n = TunOffload.WriteSegment(w, i, buffer);
            Assert.Equal(originals[i], buffer.AsSpan(0, n).ToArray());
            Assert.True(ChecksumsValid(buffer.AsSpan(0, n)));
        }
    }

    [Fact]
    public void Gaps_other_flows_and_psh_end_a_run()
    {
        var writes = new List<byte[]>();
        var c = new TcpCoalescer(m => { writes.Add(m.ToArray()); return m.Length; });
        c.Add(Segment(100, 1000, 1));
        c.Add(Segment(1100, 1000, 2, 0x18)); // PSH: merged, ends the run
        c.Add(Segment(2100, 1000, 3));        // new run
        c.Add(Segment(5000, 1000, 4));        // gap: new run
        c.Add(Segment(6000, 1000, 5, srcPort: 1001)); // another flow
        c.Add(Segment(7000, 1000, 6, 0x12));  // SYN+ACK: never merged, written at once
        c.Flush();
        Assert.Equal(5, writes.Count);
        Assert.Equal(1, writes[0][1]);
        Assert.Equal(0x18, writes[0][H + 33]);
        Assert.All(writes.Skip(1), w => Assert.Equal(0, w[1]));
        Assert.All(writes.Skip(1), w => Assert.True(ChecksumsValid(w.AsSpan(H))));
        Assert.Equal(1, c.Merged);
    }

    [Fact]
    public void A_partial_checksum_from_the_tun_is_completed()
    {
        var p = Segment(1, 100, 9);
        var read = new byte[H + p.Length];
        p.CopyTo(read, H);
        // As the kernel hands it over with NEEDS_CSUM: the field holds the (uncomplemented) pseudo-header sum.
        var sum = Pseudo(p);
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        BinaryPrimitives.WriteUInt16BigEndian(read.AsSpan(H + 36), (ushort)sum);
        read[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(read.AsSpan(6), 20);
        BinaryPrimitives.WriteUInt16LittleEndian(read.AsSpan(8), 16);
        Assert.Equal(1, TunOffload.SegmentCount(read));
        var buffer = new byte[2048];
        var n = TunOffload.WriteSegment(read, 0, buffer);
        Assert.Equal(p, buffer.AsSpan(0, n).ToArray());
    }

    [Fact]
    public void Udp_gso_run_arrives_as_separate_datagrams_in_order()
    {
        using var server = SocketSyscalls.CreateUdp(SocketSyscalls.AF_INET);
        SocketSyscalls.Bind(server, InetSocketAddress.From(new IPEndPoint(IPAddress.Loopback, 0)));
        var to = SocketSyscalls.GetLocalAddress(server);
        using var client = SocketSyscalls.CreateUdp(SocketSyscalls.AF_INET);
        DatagramBatch.TryEnableGro(server);
        var batch = new UdpGsoBatch();
        var none = default(PacketInfo);
        var sizes = new[] { 1200, 1200, 1200, 1200, 700, 1200, 90 };
        for (var i = 0; i < sizes.Length; i++)
        {
            var d = new byte[sizes[i]];
            Array.Fill(d, (byte)(i + 1));
            batch.Add(client, d, ref to, ref none);
        }
        batch.Flush();
        Assert.Equal(sizes.Length, batch.Datagrams);
        Assert.True(batch.Calls < sizes.Length);

        using var rx = new DatagramBatch(8, 65535);
        var got = new List<byte[]>();
        var deadline = Environment.TickCount64 + 2000;
        while (got.Count < sizes.Length && Environment.TickCount64 < deadline)
        {
            PollSyscalls.WaitReadable(server, 100_000);
            var n = rx.Receive(server, 8);
            for (var i = 0; i < n; i++)
            {
                var local = default(PacketInfo);
                rx.GetControl(i, ref local, out var segment);
                var payload = rx.Payload(i);
                segment = segment > 0 ? segment : payload.Length;
                for (var o = 0; o < payload.Length; o += segment)
                {
                    got.Add(payload.Slice(o, Math.Min(segment, payload.Length - o)).ToArray());
                }
            }
        }
        Assert.Equal(sizes, got.Select(g => g.Length));
        for (var i = 0; i < got.Count; i++)
        {
            Assert.All(got[i], b => Assert.Equal((byte)(i + 1), b));
        }
    }
}

/// <summary>The fast checksum against the textbook one, on every length and alignment that matters.</summary>
public class ChecksumTests
{
    [Fact]
    public void Sum_matches_rfc1071_for_all_lengths()
    {
        var rng = new Random(7);
        var data = new byte[1600];
        rng.NextBytes(data);
        for (var offset = 0; offset < 4; offset++)
        {
            for (var length = 0; length < 80; length++)
            {
                Check(data.AsSpan(offset, length), (uint)rng.Next(0, 0x3FFFF));
            }
            Check(data.AsSpan(offset, 1500 - offset), 12345);
        }
        Array.Fill(data, (byte)0xFF);
        Check(data.AsSpan(0, 1600), 0x1FFFE);
    }

    private static void Check(ReadOnlySpan<byte> d, uint initial)
    {
        ulong reference = initial;
        for (var i = 0; i < d.Length; i += 2)
        {
            reference += (uint)(d[i] << 8 | (i + 1 < d.Length ? d[i + 1] : 0));
        }
        while (reference > 0xFFFF)
        {
            reference = (reference & 0xFFFF) + (reference >> 16);
        }
        Assert.Equal((ushort)reference, Checksum.Fold(Checksum.Sum(d, initial)));
    }
}
