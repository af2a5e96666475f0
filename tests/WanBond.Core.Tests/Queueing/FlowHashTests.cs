using WanBond.Core.Queueing;

namespace WanBond.Core.Tests.Queueing;

public class FlowHashTests
{
    private const uint A = 0x0A000001;
    private const uint B = 0x08080808;

    [Fact]
    public void Ipv4_hash_depends_on_the_five_tuple_only()
    {
        int h = FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1000, 53, 100, seq: 1));
        Assert.NotEqual(0, h);
        Assert.Equal(h, FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1000, 53, 900, seq: 2)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1001, 53)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1000, 54)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Tcp, 1000, 53)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V4(A + 1, B, IpPackets.Udp, 1000, 53)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V4(A, B + 1, IpPackets.Udp, 1000, 53)));
    }

    [Fact]
    public void Ipv4_ports_are_found_after_options()
    {
        Assert.Equal(
            FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Tcp, 1000, 80)),
            FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Tcp, 1000, 80, optionWords: 2)));
        Assert.NotEqual(
            FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Tcp, 1000, 80, optionWords: 2)),
            FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Tcp, 1001, 80, optionWords: 2)));
    }

    [Fact]
    public void Ipv4_fragments_of_a_datagram_share_a_flow_and_other_protocols_hash_addresses()
    {
        // First fragment (MF set) carries ports, a later one (offset 185) does not: both must agree.
        int first = FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1000, 53, fragmentField: 0x2000));
        int later = FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 7, 7, fragmentField: 185));
        Assert.Equal(first, later);
        Assert.NotEqual(first, FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1000, 53)));

        Assert.Equal(
            FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Icmp, 1, 2)),
            FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Icmp, 3, 4)));
    }

    [Fact]
    public void Ipv6_hash_uses_ports_and_skips_simple_extension_headers()
    {
        int h = FqCodelQueue.FlowHash(IpPackets.V6(1, IpPackets.Tcp, 5000, 443));
        Assert.NotEqual(0, h);
        Assert.Equal(h, FqCodelQueue.FlowHash(IpPackets.V6(1, IpPackets.Tcp, 5000, 443, seq: 9)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V6(1, IpPackets.Tcp, 5001, 443)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V6(2, IpPackets.Tcp, 5000, 443)));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V6(1, IpPackets.Udp, 5000, 443)));
        // Hop-by-hop + destination options + (atomic) fragment: same flow, ports still found.
        Assert.Equal(h, FqCodelQueue.FlowHash(IpPackets.V6(1, IpPackets.Tcp, 5000, 443, 0, (0, 0), (60, 1), (44, 0))));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V6(1, IpPackets.Tcp, 5001, 443, 0, (0, 0), (60, 1))));
        Assert.NotEqual(h, FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Tcp, 5000, 443)));
    }

    [Fact]
    public void Ipv6_unknown_extension_header_is_the_protocol_and_ports_are_not_read()
    {
        // ESP (50): what follows is encrypted, so "ports" differ per packet and must not split the flow.
        Assert.Equal(
            FqCodelQueue.FlowHash(IpPackets.V6(1, 50, 1, 2)),
            FqCodelQueue.FlowHash(IpPackets.V6(1, 50, 3, 4)));
        Assert.NotEqual(
            FqCodelQueue.FlowHash(IpPackets.V6(1, 50, 1, 2)),
            FqCodelQueue.FlowHash(IpPackets.V6(1, 51, 1, 2)));
    }

    [Fact]
    public void Garbage_hashes_to_zero()
    {
        Assert.Equal(0, FqCodelQueue.FlowHash([]));
        Assert.Equal(0, FqCodelQueue.FlowHash(new byte[10]));
        Assert.Equal(0, FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1, 2).AsSpan(0, 19)));
        var badVersion = IpPackets.V4(A, B, IpPackets.Udp, 1, 2);
        badVersion[0] = 0x55;
        Assert.Equal(0, FqCodelQueue.FlowHash(badVersion));
        var shortIhl = IpPackets.V4(A, B, IpPackets.Udp, 1, 2);
        shortIhl[0] = 0x44;
        Assert.Equal(0, FqCodelQueue.FlowHash(shortIhl));
        var longIhl = IpPackets.V4(A, B, IpPackets.Udp, 1, 2, totalLength: 30);
        longIhl[0] = 0x4F; // 60-byte header in a 30-byte packet
        Assert.Equal(0, FqCodelQueue.FlowHash(longIhl));
        Assert.Equal(0, FqCodelQueue.FlowHash(IpPackets.V6(1, IpPackets.Tcp, 1, 2).AsSpan(0, 39)));
    }

    [Fact]
    public void Truncated_transport_header_hashes_without_ports()
    {
        var full = IpPackets.V4(A, B, IpPackets.Udp, 1, 2);
        Assert.NotEqual(0, FqCodelQueue.FlowHash(full.AsSpan(0, 22)));
        Assert.Equal(FqCodelQueue.FlowHash(full.AsSpan(0, 22)), FqCodelQueue.FlowHash(full.AsSpan(0, 23)));
    }

    [Fact]
    public void Hash_is_pinned_so_runs_are_reproducible_and_spreads_over_slots()
    {
        // A pinned value catches any accidental per-process seeding (string.GetHashCode, HashCode).
        int h = FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Udp, 1000, 53));
        Assert.Equal(Pinned, h);
        var slots = new HashSet<int>();
        for (int port = 0; port < 1024; port++)
        {
            slots.Add((int)((uint)FqCodelQueue.FlowHash(IpPackets.V4(A, B, IpPackets.Tcp, (ushort)(30_000 + port), 443)) % 1024u));
        }
        Assert.True(slots.Count > 600, $"{slots.Count} distinct slots of 1024");
    }

    private const int Pinned = -2030424088;
}
