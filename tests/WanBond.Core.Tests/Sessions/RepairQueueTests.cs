using WanBond.Core.Buffers;
using WanBond.Core.Sessions;

namespace WanBond.Core.Tests.Sessions;

public class RepairQueueTests
{
    private static PacketBuffer Packet(byte b) => new PacketPool().Rent([b]);

    [Fact]
    public void Repairs_come_out_oldest_first_with_the_path_their_original_is_on()
    {
        var q = new RepairQueue(4);
        Assert.True(q.TryAdd(Packet(1), gseq: 10, firstSentUs: 100, avoidPath: 1, originPn: 7));
        Assert.True(q.TryAdd(Packet(2), gseq: 11, firstSentUs: 110));
        Assert.True(q.TryPeek(out var head));
        Assert.Equal((10L, 1, 7UL), (head.Gseq, head.AvoidPath, head.OriginPn));
        Assert.Equal(2, q.Count); // peeking takes nothing
        Assert.True(q.TryTake(out var first));
        Assert.True(q.TryTake(out var second));
        Assert.Equal((10L, 11L), (first.Gseq, second.Gseq));
        Assert.Equal(-1, second.AvoidPath); // a repair of a lost packet may go anywhere
        Assert.False(q.TryPeek(out _));
        Assert.False(q.TryTake(out _));
    }

    [Fact]
    public void Cancelling_marks_only_the_copies_of_that_packet_and_keeps_their_place()
    {
        var q = new RepairQueue(8);
        q.TryAdd(Packet(1), 10, 100, 0, 1);
        q.TryAdd(Packet(2), 11, 110, 0, 2);
        q.TryAdd(Packet(3), 12, 120, 1, 3);
        q.Cancel(11);
        q.Cancel(99); // not queued: nothing happens
        var taken = new List<(long Gseq, bool Cancelled)>();
        while (q.TryTake(out var r))
        {
            taken.Add((r.Gseq, r.Cancelled));
        }
        Assert.Equal([(10L, false), (11L, true), (12L, false)], taken);
    }

    [Fact]
    public void A_full_queue_refuses_more()
    {
        var q = new RepairQueue(2);
        Assert.True(q.TryAdd(Packet(1), 1, 0));
        Assert.True(q.TryAdd(Packet(2), 2, 0));
        Assert.False(q.TryAdd(Packet(3), 3, 0));
        q.TryTake(out _);
        Assert.True(q.TryAdd(Packet(3), 3, 0)); // the ring wraps
        Assert.True(q.TryTake(out var r) && r.Gseq == 2);
        Assert.True(q.TryTake(out r) && r.Gseq == 3);
    }
}
