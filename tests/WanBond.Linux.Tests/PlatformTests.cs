using System.Net;
using WanBond.Linux.Datapath;
using WanBond.Linux.Native;
using WanBond.Linux.Network;

namespace WanBond.Linux.Tests;

/// <summary>Platform code that runs unprivileged: sockets on loopback, parsers of kernel text, the inbox.</summary>
public class PlatformTests
{
    [Theory]
    [InlineData("10.1.2.3", 5)]
    [InlineData("2001:db8::7", 65535)]
    public void Socket_address_round_trips(string address, int port)
    {
        var ep = new IPEndPoint(IPAddress.Parse(address), port);
        var a = InetSocketAddress.From(ep);
        Assert.Equal(ep, a.ToEndPoint());
        Assert.Equal(a, InetSocketAddress.From(ep));
        Assert.NotEqual(a, InetSocketAddress.From(new IPEndPoint(ep.Address, port - 1)));
    }

    [Fact]
    public void Mapped_address_reads_back_as_ipv4()
    {
        var a = InetSocketAddress.From(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 9)).ToIPv6();
        Assert.True(a.IsIPv6);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 9), a.ToEndPoint());
    }

    [Fact]
    public void Udp_datagrams_travel_over_loopback_with_their_destination_address()
    {
        using var server = SocketSyscalls.CreateUdp(SocketSyscalls.AF_INET6, dualStack: true);
        MessageSyscalls.EnablePacketInfo(server, ipv6Socket: true);
        SocketSyscalls.Bind(server, InetSocketAddress.From(new IPEndPoint(IPAddress.IPv6Any, 0)));
        var port = SocketSyscalls.GetLocalAddress(server).ToEndPoint().Port;
        using var client = SocketSyscalls.CreateUdp(SocketSyscalls.AF_INET);
        var to = InetSocketAddress.From(new IPEndPoint(IPAddress.Loopback, port));
        Assert.Equal(5, SocketSyscalls.SendTo(client, "hello"u8, ref to));

        var buffer = new byte[2048];
        var from = default(InetSocketAddress);
        var local = default(PacketInfo);
        Assert.True(PollSyscalls.WaitReadable(server, 2_000_000));
        var n = MessageSyscalls.ReceiveFrom(server, buffer, ref from, ref local);
        Assert.Equal(5, n);
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);
        Assert.Equal(IPAddress.Loopback, from.ToEndPoint().Address);
        Assert.True(local.IsSet);

        // The answer leaves from the address the request arrived at.
        Assert.Equal(3, MessageSyscalls.SendTo(server, "hey"u8, ref from, ref local));
        var back = default(InetSocketAddress);
        Assert.True(PollSyscalls.WaitReadable(client, 2_000_000));
        Assert.Equal(3, SocketSyscalls.ReceiveFrom(client, buffer, ref back));
        Assert.Equal(port, back.ToEndPoint().Port);
        Assert.Equal(IPAddress.Loopback, back.ToEndPoint().Address);
    }

    [Fact]
    public void Nonblocking_receive_reports_eagain()
    {
        using var s = SocketSyscalls.CreateUdp(SocketSyscalls.AF_INET);
        SocketSyscalls.Bind(s, InetSocketAddress.From(new IPEndPoint(IPAddress.Loopback, 0)));
        var from = default(InetSocketAddress);
        Assert.Equal(-Errno.EAGAIN, SocketSyscalls.ReceiveFrom(s, new byte[64], ref from));
        Assert.False(PollSyscalls.WaitReadable(s, 1_000));
    }

    [Fact]
    public void Binding_to_a_missing_device_names_it()
    {
        using var s = SocketSyscalls.CreateUdp(SocketSyscalls.AF_INET);
        var e = Assert.Throws<SyscallException>(() => SocketSyscalls.BindToDevice(s, "nosuchdev0"));
        Assert.Contains("SO_BINDTODEVICE nosuchdev0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inbox_hands_items_over_in_order_and_wakes_the_waiter()
    {
        using var inbox = new Inbox(4);
        var a = inbox.Rent()!;
        a.Length = 1;
        var b = inbox.Rent()!;
        b.Length = 2;
        inbox.Post(a);
        inbox.Post(b);
        inbox.Wait(1_000_000); // returns at once: items are waiting
        var batch = new InboundItem[8];
        Assert.Equal(2, inbox.Take(batch));
        Assert.Same(a, batch[0]);
        Assert.Same(b, batch[1]);
        inbox.Return(a);
        inbox.Return(b);

        var t = new Thread(() =>
        {
            Thread.Sleep(50);
            var c = inbox.Rent()!;
            inbox.Post(c);
        });
        t.Start();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        inbox.Wait(5_000_000);
        Assert.True(sw.ElapsedMilliseconds < 4000);
        t.Join();
    }

    [Fact]
    public void Inbox_drops_when_the_engine_is_behind()
    {
        using var inbox = new Inbox(2);
        Assert.NotNull(inbox.Rent());
        Assert.NotNull(inbox.Rent());
        Assert.Null(inbox.Rent());
        Assert.Equal(1, inbox.Dropped);
    }

    [Fact]
    public void Inner_packet_addresses()
    {
        var v4 = new byte[20];
        v4[0] = 0x45;
        v4[12] = 10; v4[15] = 2;
        v4[16] = 1; v4[19] = 9;
        Assert.True(InnerPacket.TryGetSource(v4, out var src));
        Assert.True(InnerPacket.TryGetDestination(v4, out var dst));
        Assert.Equal(((UInt128)0xFFFF << 32) | 0x0A000002, src);
        Assert.Equal(((UInt128)0xFFFF << 32) | 0x01000009, dst);
        var v6 = new byte[40];
        v6[0] = 0x60;
        v6[8] = 0xfd; v6[23] = 1;
        v6[24] = 0x20; v6[39] = 2;
        Assert.True(InnerPacket.TryGetSource(v6, out src));
        Assert.Equal((UInt128)0xfd << 120 | 1, src);
        Assert.False(InnerPacket.TryGetSource(new byte[10], out _));
    }

    [Fact]
    public void Default_gateways_from_proc_net_route()
    {
        const string text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            + "usb0\t00000000\t0100A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
            + "usb0\t00000000\t0200A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
            + "usb0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
            + "usb1\t00000000\t012AA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
        Assert.Equal(IPAddress.Parse("192.168.0.2"), LinkProbe.DefaultGateway4(text, "usb0"));
        Assert.Equal(IPAddress.Parse("192.168.42.1"), LinkProbe.DefaultGateway4(text, "usb1"));
        Assert.Null(LinkProbe.DefaultGateway4(text, "usb2"));
    }

    [Fact]
    public void Default_gateways_from_proc_net_ipv6_route()
    {
        var zero = new string('0', 32);
        var text = $"{zero} 00 {zero} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     usb0\n"
            + $"20010db8000000000000000000000000 40 {zero} 00 {zero} 00000100 00000001 00000000 00000001     usb0\n";
        Assert.Equal(IPAddress.Parse("fe80::1"), LinkProbe.DefaultGateway6(text, "usb0"));
        Assert.Null(LinkProbe.DefaultGateway6(text, "usb1"));
    }

    [Fact]
    public void Link_observation_needs_address_and_a_way_out()
    {
        var ok = new LinkObservation(true, 3, true, "10.0.0.2", IPAddress.Parse("10.0.0.1"), false);
        Assert.True(ok.Usable);
        Assert.False((ok with { Gateway = null }).Usable);
        Assert.True((ok with { Gateway = null, PointToPoint = true }).Usable);
        Assert.False((ok with { Address = null }).Usable);
        Assert.False((ok with { Up = false }).Usable);
        Assert.False(LinkObservation.Absent.Usable);
        Assert.Equal("interface absent", LinkObservation.Absent.Describe());
    }

    [Fact]
    public void Sysctl_values_are_restored_exactly()
    {
        var dir = Directory.CreateTempSubdirectory("wbsysctl");
        try
        {
            var proc = Path.Combine(dir.FullName, "proc");
            Directory.CreateDirectory(Path.Combine(proc, "net/ipv4"));
            var key = Path.Combine(proc, "net/ipv4/ip_forward");
            File.WriteAllText(key, "0\n");
            var state = new SysctlState(Path.Combine(dir.FullName, "run/state"), proc);
            state.Set("net/ipv4/ip_forward", "1");
            state.Set("net/ipv4/ip_forward", "1");
            Assert.Equal("1", File.ReadAllText(key));
            // A new instance (the next start after a crash) restores from the file.
            new SysctlState(Path.Combine(dir.FullName, "run/state"), proc).Restore();
            Assert.Equal("0", File.ReadAllText(key));
            Assert.False(File.Exists(Path.Combine(dir.FullName, "run/state")));
            state.Restore(); // nothing left: no error
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Checksum_is_right_on_long_inputs_every_alignment_and_all_ones()
    {
        // The 32-byte vector path (inputs of 64 bytes and more) against the textbook RFC 1071 sum.
        static ushort Reference(ReadOnlySpan<byte> d, uint initial)
        {
            ulong sum = initial;
            for (var i = 0; i < d.Length; i += 2)
            {
                sum += (uint)(d[i] << 8 | (i + 1 < d.Length ? d[i + 1] : 0));
            }
            while (sum > 0xFFFF)
            {
                sum = (sum & 0xFFFF) + (sum >> 16);
            }
            return (ushort)sum;
        }
        var rng = new Random(11);
        var data = new byte[65536 + 8];
        rng.NextBytes(data);
        foreach (var length in new[] { 64, 65, 95, 96, 127, 128, 129, 1380, 1400, 1460, 9000, 65535 })
        {
            for (var offset = 0; offset < 8; offset++)
            {
                var initial = (uint)rng.Next(0, 0x3FFFF);
                Assert.Equal(Reference(data.AsSpan(offset, length), initial), Checksum.Fold(Checksum.Sum(data.AsSpan(offset, length), initial)));
            }
        }
        Array.Fill(data, (byte)0xFF);
        Assert.Equal(Reference(data.AsSpan(0, 65535), 0x1FFFE), Checksum.Fold(Checksum.Sum(data.AsSpan(0, 65535), 0x1FFFE)));
        Assert.Equal(Reference(data.AsSpan(3, 65536), 0), Checksum.Fold(Checksum.Sum(data.AsSpan(3, 65536), 0)));
    }

    /// <summary>An IPv6 TCP segment with timestamps, a valid checksum, payload bytes derived from the sequence number.</summary>
    private static byte[] Segment6(uint seq, int payload, byte flags = 0x10, ushort srcPort = 1000, byte hopLimit = 64)
    {
        var p = new byte[40 + 32 + payload];
        p[0] = 0x60;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
        p[6] = 6;
        p[7] = hopLimit;
        IPAddress.Parse("fd20::2").GetAddressBytes().CopyTo(p, 8);
        IPAddress.Parse("fd20:3::2").GetAddressBytes().CopyTo(p, 24);
        var t = p.AsSpan(40);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(t, srcPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(t[2..], 2000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(t[8..], 777);
        t[12] = 8 << 4;
        t[13] = flags;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(t[14..], 500);
        t[20] = 1; t[21] = 1; t[22] = 8; t[23] = 10;
        for (var i = 0; i < payload; i++)
        {
            t[32 + i] = (byte)(seq + i);
        }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(t[16..], (ushort)~Checksum.Fold(Checksum.Sum(t, Checksum.Sum(p.AsSpan(8, 32), 6u + (uint)t.Length))));
        return p;
    }

    private static bool Tcp6ChecksumValid(ReadOnlySpan<byte> p) =>
        Checksum.Fold(Checksum.Sum(p[40..], Checksum.Sum(p.Slice(8, 32), 6u + (uint)(p.Length - 40)))) == 0xFFFF;

    [Fact]
    public void IPv6_tcp_segments_merge_into_one_gso_write_that_segments_back_into_the_same_packets()
    {
        var originals = new List<byte[]>();
        uint seq = 3_000_000;
        for (var i = 0; i < 4; i++)
        {
            var last = i == 3;
            var len = last ? 200 : 1348;
            originals.Add(Segment6(seq, len, last ? (byte)0x18 : (byte)0x10));
            seq += (uint)len;
        }
        Assert.All(originals, o => Assert.True(Tcp6ChecksumValid(o)));
        var writes = new List<byte[]>();
        var c = new TcpCoalescer(m => { writes.Add(m.ToArray()); return m.Length; });
        foreach (var o in originals)
        {
            c.Add(o);
        }
        c.Add(Segment6(seq, 1348, srcPort: 1001)); // another flow: a run of its own
        c.Add(Segment6(seq + 1348, 1348, hopLimit: 63, srcPort: 1001)); // a different hop limit: not merged
        c.Flush();
        Assert.Equal(3, writes.Count);
        var w = writes[0];
        Assert.Equal(1, w[0]); // NEEDS_CSUM
        Assert.Equal(4, w[1]); // GSO_TCPV6
        Assert.Equal(40, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(w.AsSpan(6))); // csum_start
        Assert.Equal(1348, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(w.AsSpan(4)));
        Assert.Equal(originals.Sum(o => o.Length - 72) + 72, w.Length - TunSyscalls.VnetHeaderSize);
        Assert.Equal(1, c.Merged);
        Assert.All(writes.Skip(1), x => Assert.Equal(0, x[1])); // single packets go out as they are

        Assert.Equal(4, TunOffload.SegmentCount(w));
        var buffer = new byte[2048];
        for (var i = 0; i < 4; i++)
        {
            var n = TunOffload.WriteSegment(w, i, buffer);
            Assert.Equal(originals[i], buffer.AsSpan(0, n).ToArray());
        }
    }
}
