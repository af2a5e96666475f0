using WanBond.Core.Sessions;

namespace WanBond.Core.Tests.Sessions;

/// <summary>
/// Express delivery end to end: a sparse flow (a ping) is not held behind a bulk flow's packets stuck on a
/// link that stalled, and neither flow is ever reordered.
/// </summary>
public class ExpressDeliveryTests
{
    private const long Mbit = 125_000; // bytes/s
    private const int Bulk = 1500;

    /// <summary>A small packet of its own flow (source port 0x77nn: a DNS query, a ping), with <paramref name="id"/> in its payload.</summary>
    private static byte[] Ping(int id)
    {
        var p = EngineHarness.Packet(id, 84);
        p[20] = 0x77;
        p[21] = (byte)id;
        return p;
    }

    /// <summary>A packet of one steady flow (source port 0x6600); small ones are sent twice, on two paths.</summary>
    private static byte[] Stream(int id, int size)
    {
        var p = EngineHarness.Packet(id, size);
        p[20] = 0x66;
        return p;
    }

    private static bool IsStream(byte[] p) => p[20] == 0x66;

    /// <summary>
    /// A bulk flow (1500 packets of 1200 bytes, one per ms from 0.3 s) and a sparse flow whose packet k is
    /// <paramref name="make"/>(k), one every 10 ms from 0.3 s, toward the router; path 1 pauses for 400 ms at
    /// 0.9 s (a mobile link's gap: what is queued on it waits, the router holds what follows). Returns when each
    /// sparse packet was submitted and when it came out at the router.
    /// </summary>
    private static (EngineHarness H, Dictionary<int, long> Sent, Dictionary<int, long> At) RunWithPause(Func<int, byte[]> make, int count)
    {
        var h = new EngineHarness([10 * Mbit, 10 * Mbit], [20_000, 20_000]);
        for (var i = 0; i < Bulk; i++)
        {
            var id = i;
            h.At(300_000 + i * 1000L, () => { h.Proxy.SubmitInner(EngineHarness.Packet(id), h.NowUs); h.Kick(h.Proxy); });
        }
        var sent = new Dictionary<int, long>();
        for (var k = 0; k < count; k++)
        {
            var packet = make(k);
            var id = EngineHarness.IdOf(packet);
            h.At(300_003 + k * 10_000L, () => { sent[id] = h.NowUs; h.Proxy.SubmitInner(packet, h.NowUs); h.Kick(h.Proxy); });
        }
        h.At(900_000, () => h.Pause(toProxy: false, 1, 400_000));
        var at = new Dictionary<int, long>();
        var seen = 0;
        for (var t = 300_000L; t < 2_500_000; t += 1_000)
        {
            h.At(t, () =>
            {
                for (; seen < h.DeliveredAtRouter.Count; seen++)
                {
                    var id = EngineHarness.IdOf(h.DeliveredAtRouter[seen]);
                    if (sent.ContainsKey(id))
                    {
                        at[id] = h.NowUs;
                    }
                }
            });
        }
        h.RunUntil(2_500_000);
        var bulkIds = h.DeliveredAtRouter.Select(EngineHarness.IdOf).Where(id => id < Bulk).ToList();
        Assert.True(bulkIds.Zip(bulkIds.Skip(1)).All(p => p.First < p.Second), "the bulk flow in order");
        Assert.Equal(Bulk, bulkIds.Count + h.Proxy.SendQueueDrops); // the pause loses nothing
        Assert.Equal(count, at.Count);
        return (h, sent, at);
    }

    /// <summary>The longest a sparse packet sent in the pause's first 80 ms took to come out at the router.</summary>
    private static long WorstInPause(Dictionary<int, long> sent, Dictionary<int, long> at) =>
        sent.Where(s => s.Value >= 900_000 && s.Value < 980_000).Max(s => at[s.Key] - s.Value);

    [Fact]
    public void Queries_overtake_bulk_packets_held_for_a_paused_link()
    {
        // A query every 10 ms, each its own flow, as DNS lookups or pings: DataExpress.
        const int pings = 150;
        var (h, sent, at) = RunWithPause(k => Ping(100_000 + k), pings);
        Assert.True(h.Proxy.ExpressSent >= pings, $"express sent {h.Proxy.ExpressSent}");
        Assert.True(h.Router.ExpressReleased >= 1, $"express released {h.Router.ExpressReleased}");
        // They reach the router in the path's delay (~20 ms) while it holds the bulk packets stuck on path 1
        // (without express delivery they waited 65-97 ms for them).
        var worst = WorstInPause(sent, at);
        Assert.True(worst < 40_000, $"a query sent during the pause took {worst / 1000} ms");
    }

    [Fact]
    public void A_steady_flow_overtakes_bulk_holes_when_its_earlier_packets_went_on_the_same_path()
    {
        // One flow of small packets every 10 ms (a voice call, a game), faster than its round trip: its packets are
        // never all acknowledged, but each goes on the same two paths, so they go DataExpressOnPath.
        const int stream = 150;
        var (h, sent, at) = RunWithPause(k => Stream(200_000 + k, 120), stream);
        var ids = h.DeliveredAtRouter.Where(IsStream).Select(EngineHarness.IdOf).ToList();
        Assert.True(ids.Zip(ids.Skip(1)).All(p => p.First < p.Second), "the steady flow in order");
        Assert.True(h.Router.ExpressReleased >= 5, $"express released {h.Router.ExpressReleased}");
        var worst = WorstInPause(sent, at);
        Assert.True(worst < 40_000, $"a packet sent during the pause took {worst / 1000} ms");
    }

    [Fact]
    public void A_loss_on_the_shared_path_keeps_the_flow_in_order()
    {
        // A steady flow of packets too big to be sent twice; its packet 20 is lost on its path: the ones after it
        // on that path must not overtake its repair, express or not. Path 1 is slower: the flow keeps to path 0.
        var h = new EngineHarness([10 * Mbit, 10 * Mbit], [20_000, 80_000]);
        const int stream = 100;
        for (var k = 0; k < stream; k++)
        {
            var id = 300_000 + k;
            h.At(300_000 + k * 5_000L, () => { h.Proxy.SubmitInner(Stream(id, 400), h.NowUs); h.Kick(h.Proxy); });
        }
        var lost = 0;
        // The id sits after the clear header (12), the gseq (4) and the inner IPv4/UDP headers (28); NullSeal leaves it readable.
        h.Lose = (toProxy, _, d) =>
        {
            var drop = !toProxy && lost == 0 && d.Length > 48 && BitConverter.ToInt32(d, 12 + 4 + 28) == 300_020;
            lost += drop ? 1 : 0;
            return drop;
        };
        h.RunUntil(1_500_000);

        var ids = h.DeliveredAtRouter.Where(IsStream).Select(EngineHarness.IdOf).ToList();
        Assert.Equal(1, lost);
        Assert.Equal(stream, ids.Count);
        Assert.True(ids.Zip(ids.Skip(1)).All(p => p.First < p.Second), $"in order: {string.Join(" ", ids.Select(i => i - 300_000))}");
        Assert.True(h.Proxy.ExpressSent >= stream / 4, $"express sent {h.Proxy.ExpressSent}");
    }

    [Fact]
    public void A_flow_with_packets_in_flight_is_not_sent_express()
    {
        var h = new EngineHarness([10 * Mbit, 10 * Mbit], [20_000, 20_000]);
        for (var i = 0; i < 200; i++)
        {
            var id = i;
            h.At(300_000 + i * 500L, () => { h.Proxy.SubmitInner(EngineHarness.Packet(id), h.NowUs); h.Kick(h.Proxy); });
        }
        h.RunUntil(1_000_000);
        // A bulk flow spread over both paths always has packets unacknowledged on the other one: only its first
        // packet goes express.
        Assert.Equal(200, h.DeliveredAtRouter.Count);
        Assert.InRange(h.Proxy.ExpressSent, 1, 1);
    }
}
