using WanBond.Core.Sessions;

namespace WanBond.Core.Tests.Sessions;

public class OutstandingFlowsTests
{
    /// <summary>Registers a new packet and its first copy on <paramref name="path"/>; returns how it may go.</summary>
    private static ExpressKind Send(OutstandingFlows f, long gseq, int flow, int path, long nowUs = 0)
    {
        f.Add(gseq, flow, nowUs);
        var kind = f.Classify(gseq, flow, path);
        f.SentOn(gseq, path);
        return kind;
    }

    [Fact]
    public void A_flow_goes_express_when_every_earlier_packet_of_it_was_acknowledged()
    {
        var f = new OutstandingFlows(16, 2);
        Assert.Equal(ExpressKind.Express, Send(f, 0, 3, 0)); // nothing of flow 3 outstanding
        Assert.Equal(ExpressKind.ExpressOnPath, Send(f, 1, 3, 0)); // 0 is unacknowledged, on the same path
        Assert.Equal(ExpressKind.Express, Send(f, 2, 5, 1)); // another flow is independent
        Assert.Equal(ExpressKind.None, Send(f, 3, 3, 1)); // 0 and 1 went on path 0, not on path 1
        f.Acknowledged(0);
        f.Acknowledged(1);
        Assert.Equal(ExpressKind.ExpressOnPath, f.Classify(4, 3, 1)); // 3 is on path 1
        f.Acknowledged(3);
        Assert.Equal(0, f.Outstanding(3));
        Assert.Equal(ExpressKind.Express, Send(f, 4, 3, 1));
        Assert.Equal(1, f.Outstanding(5));
    }

    [Fact]
    public void Every_outstanding_packet_must_have_a_copy_on_the_path_for_express_on_path()
    {
        var f = new OutstandingFlows(4, 3);
        Send(f, 0, 1, 0);
        f.SentOn(0, 2); // its duplicate on path 2
        Send(f, 1, 1, 2);
        Assert.Equal(ExpressKind.ExpressOnPath, f.Classify(2, 1, 2)); // 0 and 1 both have a copy on path 2
        Assert.Equal(ExpressKind.None, f.Classify(2, 1, 0)); // 1 has none on path 0
        f.SentOn(1, 0); // a repair of 1 on path 0
        Assert.Equal(ExpressKind.ExpressOnPath, f.Classify(2, 1, 0));
        // A copy of an outstanding packet is judged by the others only.
        Assert.Equal(ExpressKind.ExpressOnPath, f.Classify(1, 1, 2));
        f.Acknowledged(0);
        Assert.Equal(ExpressKind.Express, f.Classify(1, 1, 1));
    }

    [Fact]
    public void Repeated_and_unknown_acknowledgements_change_nothing()
    {
        var f = new OutstandingFlows(4, 1);
        Send(f, 0, 1, 0);
        Send(f, 1, 1, 0);
        f.Acknowledged(0);
        f.Acknowledged(0);
        f.Acknowledged(7); // never sent
        f.Acknowledged(-1);
        f.SentOn(0, 0); // a copy of a packet already acknowledged is not counted again
        Assert.Equal(1, f.Outstanding(1));
        f.Acknowledged(1);
        Assert.Equal(0, f.Outstanding(1));
        f.Acknowledged(1);
        Assert.Equal(0, f.Outstanding(1));
        Assert.Equal(ExpressKind.Express, Send(f, 2, 1, 0));
    }

    [Fact]
    public void A_packet_unacknowledged_for_two_seconds_no_longer_holds_its_flow_back()
    {
        var f = new OutstandingFlows(4, 2);
        Send(f, 0, 2, 0, 1_000);
        Assert.Equal(ExpressKind.None, Send(f, 1, 2, 1, 1_000 + OutstandingFlows.MaxAgeUs - 1));
        // 0 is now too old; 1 is not, and it is on path 1.
        Assert.Equal(ExpressKind.ExpressOnPath, Send(f, 2, 2, 1, 1_000 + OutstandingFlows.MaxAgeUs));
        Assert.Equal(2, f.Outstanding(2));
        f.Acknowledged(1);
        f.Acknowledged(2);
        Assert.Equal(ExpressKind.Express, Send(f, 3, 2, 0, 1_000 + OutstandingFlows.MaxAgeUs + 1));
    }

    [Fact]
    public void The_oldest_entry_leaves_when_the_ring_is_full()
    {
        var f = new OutstandingFlows(4, 2, capacity: 4);
        for (long g = 0; g < 4; g++)
        {
            Send(f, g, (int)g, 0);
        }
        Send(f, 4, 1, 1); // pushes out gseq 0 (flow 0)
        Assert.Equal(0, f.Outstanding(0));
        Assert.Equal(2, f.Outstanding(1));
        f.Acknowledged(0); // gone already: no effect on flow 0's count
        Assert.Equal(0, f.Outstanding(0));
        Assert.Equal(ExpressKind.Express, Send(f, 5, 0, 1));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var f = new OutstandingFlows(4, 2);
        f.Add(5, 0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Add(5, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OutstandingFlows(4, 2, capacity: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OutstandingFlows(4, 33));
    }
}
