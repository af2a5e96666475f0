using WanBond.Core.Sessions;

namespace WanBond.Core.Tests.Sessions;

public class OutstandingFlowsTests
{
    [Fact]
    public void A_flow_goes_express_only_when_every_earlier_packet_of_it_was_acknowledged()
    {
        var f = new OutstandingFlows(16);
        Assert.True(f.Add(0, 3, 0)); // nothing of flow 3 outstanding
        Assert.False(f.Add(1, 3, 10)); // 0 is not acknowledged yet
        Assert.True(f.Add(2, 5, 20)); // another flow is independent
        f.Acknowledged(1);
        Assert.False(f.Add(3, 3, 30)); // 0 still outstanding
        f.Acknowledged(0);
        f.Acknowledged(3);
        Assert.Equal(0, f.Outstanding(3));
        Assert.True(f.Add(4, 3, 40));
        Assert.Equal(1, f.Outstanding(5));
    }

    [Fact]
    public void Repeated_and_unknown_acknowledgements_change_nothing()
    {
        var f = new OutstandingFlows(4);
        f.Add(0, 1, 0);
        f.Add(1, 1, 0);
        f.Acknowledged(0);
        f.Acknowledged(0);
        f.Acknowledged(7); // never sent
        f.Acknowledged(-1);
        Assert.Equal(1, f.Outstanding(1));
        f.Acknowledged(1);
        Assert.Equal(0, f.Outstanding(1));
        f.Acknowledged(1);
        Assert.Equal(0, f.Outstanding(1));
    }

    [Fact]
    public void A_packet_unacknowledged_for_two_seconds_no_longer_holds_its_flow_back()
    {
        var f = new OutstandingFlows(4);
        f.Add(0, 2, 1_000);
        Assert.False(f.Add(1, 2, 1_000 + OutstandingFlows.MaxAgeUs - 1));
        // 0 is now too old; 1 is not.
        Assert.False(f.Add(2, 2, 1_000 + OutstandingFlows.MaxAgeUs));
        Assert.Equal(2, f.Outstanding(2));
        f.Acknowledged(1);
        f.Acknowledged(2);
        Assert.True(f.Add(3, 2, 1_000 + OutstandingFlows.MaxAgeUs + 1));
    }

    [Fact]
    public void The_oldest_entry_leaves_when_the_ring_is_full()
    {
        var f = new OutstandingFlows(4, capacity: 4);
        for (long g = 0; g < 4; g++)
        {
            f.Add(g, (int)g, 0);
        }
        f.Add(4, 1, 0); // pushes out gseq 0 (flow 0)
        Assert.Equal(0, f.Outstanding(0));
        Assert.Equal(2, f.Outstanding(1));
        f.Acknowledged(0); // gone already: no effect on flow 0's count
        Assert.Equal(0, f.Outstanding(0));
        Assert.True(f.Add(5, 0, 0));
    }

    [Fact]
    public void Gseqs_must_come_in_increasing_order()
    {
        var f = new OutstandingFlows(4);
        f.Add(5, 0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Add(5, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OutstandingFlows(4, capacity: 3));
    }
}
