using WanBond.Core.Sessions;

namespace WanBond.Core.Tests.Sessions;

public class SessionTests
{
    private const long Mbit = 125_000; // bytes/s

    [Fact]
    public void Establishes_and_delivers_everything_in_order_over_two_unequal_paths()
    {
        var h = new EngineHarness([10 * Mbit, 20 * Mbit], [30_000, 60_000]);
        const int count = 3000;
        for (var i = 0; i < count; i++)
        {
            var id = i;
            h.At(200_000 + i * 1000L, () => { h.Proxy.SubmitInner(EngineHarness.Packet(id), h.NowUs); h.Kick(h.Proxy); });
        }
        h.RunUntil(4_000_000);
        Assert.True(h.Router.IsEstablished && h.Proxy.IsEstablished);
        var ids = h.DeliveredAtRouter.Select(EngineHarness.IdOf).ToList();
        var s0 = h.Proxy.GetPathStats(0);
        var s1 = h.Proxy.GetPathStats(1);
        var info = $"delivered {ids.Count}, skipped {h.Router.ReorderSkipped}, lost {s0.PacketsLost}/{s1.PacketsLost}, rejected {h.Router.Drops.Total}, sender-queue drops {h.Proxy.SendQueueDrops}";
        // In order, nothing twice, nothing missing but what the sender queue's AQM dropped at start-up.
        Assert.True(ids.Zip(ids.Skip(1)).All(p => p.First < p.Second), info);
        Assert.True(ids.Count + h.Proxy.SendQueueDrops == count, info);
        Assert.True(h.Proxy.SendQueueDrops < count / 100, info);
        Assert.Equal(0, h.Router.ReorderSkipped);
        Assert.True(h.Proxy.GetPathStats(0).DataBytesSent > 0 && h.Proxy.GetPathStats(1).DataBytesSent > 0, "both paths carry data");
    }

    [Fact]
    public void A_path_left_idle_keeps_its_window_for_when_traffic_returns()
    {
        // Two paths; for 2 s the sender is backlogged (both paths fill up), then only a trickle comes
        // for 3 s (an inner TCP flow in recovery; keepalives and probes cross the idle paths).
        // Samples taken while the sender had nothing to send measure the sender, not the path: the
        // windows must still fit the paths when traffic returns, not have shrunk to the trickle.
        var h = new EngineHarness([10 * Mbit, 10 * Mbit], [20_000, 20_000]);
        for (var i = 0; i < 6000; i++)
        {
            var id = i;
            h.At(200_000 + i * 300L, () => { h.Proxy.SubmitInner(EngineHarness.Packet(id), h.NowUs); h.Kick(h.Proxy); });
        }
        for (var i = 0; i < 10; i++)
        {
            var id = 10_000 + i;
            h.At(2_200_000 + i * 300_000L, () => { h.Proxy.SubmitInner(EngineHarness.Packet(id), h.NowUs); h.Kick(h.Proxy); });
        }
        h.RunUntil(2_100_000);
        var busy = new[] { h.Proxy.GetPathStats(0).CongestionWindowBytes, h.Proxy.GetPathStats(1).CongestionWindowBytes };
        h.RunUntil(5_200_000);
        var idle = new[] { h.Proxy.GetPathStats(0).CongestionWindowBytes, h.Proxy.GetPathStats(1).CongestionWindowBytes };
        var info = $"windows busy {busy[0]}/{busy[1]} B, after the idle spell {idle[0]}/{idle[1]} B";
        // One path's bandwidth-delay product is 10 Mbit/s x 40 ms = 50 kB.
        Assert.True(busy[0] > 40_000 && busy[1] > 40_000, info);
        Assert.True(idle[0] >= busy[0] / 2 && idle[1] >= busy[1] / 2, info);
    }

    [Fact]
    public void Rejects_datagrams_for_another_session_and_counts_them()
    {
        var h = new EngineHarness([10 * Mbit], [10_000]);
        h.RunUntil(100_000);
        var bogus = new byte[64];
        bogus[0] = 0x11; // version 1, data
        bogus[4] = 0x99; // some other session id
        h.Router.ReceiveDatagram(0, bogus, h.NowUs);
        Assert.Equal(1, h.Router.Drops[WanBond.Core.Wire.DropReason.UnknownSession]);
    }
}
