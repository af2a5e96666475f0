using WanBond.Core.Congestion;

namespace WanBond.Core.Tests.Congestion;

public class DelayTargetControllerTests
{
    private const long MinRttUs = 100_000;

    // Acks every 10 ms from startUs for durationUs, each reporting rateBps.
    private static long Feed(DelayTargetController c, long startUs, long durationUs, long rateBps, bool appLimited, long queueDelayUs = 0)
    {
        var t = startUs;
        for (; t < startUs + durationUs; t += 10_000)
        {
            c.OnAck(new AckSample(t, 1500, 30_000, MinRttUs, MinRttUs, queueDelayUs, rateBps, appLimited));
        }
        return t;
    }

    private static DelayTargetController Measured(long rateBps, out long nowUs)
    {
        var c = new DelayTargetController(25_000);
        // A queue past the target ends startup; then a second of samples the path itself set.
        nowUs = Feed(c, 0, 1_000_000, rateBps, appLimited: false, queueDelayUs: 100_000);
        Assert.False(c.InStartup);
        nowUs = Feed(c, nowUs, 1_000_000, rateBps, appLimited: false);
        Assert.Equal(rateBps, c.BandwidthEstimate);
        return c;
    }

    [Fact]
    public void A_path_left_app_limited_keeps_the_capacity_it_measured()
    {
        // 10 MB/s measured, then 2 s in which the sender fed the path a trickle (app-limited samples of
        // 100 kB/s), then the first sample that is not app-limited, still low: a trickle is what the path
        // got, not what it can carry, and 200 ms of measured time have not passed since the last real sample.
        var c = Measured(10_000_000, out var now);
        now = Feed(c, now, 2_000_000, 100_000, appLimited: true);
        Assert.Equal(10_000_000, c.BandwidthEstimate);
        c.OnAck(new AckSample(now, 1500, 30_000, MinRttUs, MinRttUs, 0, 200_000, AppLimited: false));
        Assert.Equal(10_000_000, c.BandwidthEstimate);
        Assert.True(c.CongestionWindow >= 10_000_000 * MinRttUs / 1_000_000, $"window {c.CongestionWindow} below one BDP");
    }

    [Fact]
    public void A_measured_fall_in_capacity_replaces_the_old_estimate_within_the_window()
    {
        // The same fall measured for real (samples that are not app-limited) takes over once the old
        // maximum has aged out of the 200 ms window.
        var c = Measured(10_000_000, out var now);
        Feed(c, now, 400_000, 2_000_000, appLimited: false);
        Assert.Equal(2_000_000, c.BandwidthEstimate);
        Assert.True(c.CongestionWindow < 10_000_000 * MinRttUs / 1_000_000, $"window {c.CongestionWindow} still sized for the old rate");
    }

    [Fact]
    public void App_limited_samples_above_the_estimate_still_raise_it()
    {
        var c = Measured(1_000_000, out var now);
        Feed(c, now, 50_000, 3_000_000, appLimited: true);
        Assert.Equal(3_000_000, c.BandwidthEstimate);
    }

    [Fact]
    public void After_startup_the_pacer_lets_a_whole_window_leave_within_one_round_trip()
    {
        // A burst of capacity drains the modem's queue; the acks it sends back open the whole window at
        // once. The pacer must let that window out within about a round trip, or the queue stays empty
        // for round trips while the link could carry more (the steady gain of 1.25 took 1.2 round trips
        // for a window of 1.5 bandwidth-delay products, and the links in the simulator idled for it).
        var c = Measured(10_000_000, out _);
        Assert.True(c.CongestionWindow > 10_000_000 * MinRttUs / 1_000_000, $"window {c.CongestionWindow} holds no queue");
        long sentInOneRtt = c.PacingRate * MinRttUs / 1_000_000;
        Assert.True(sentInOneRtt >= c.CongestionWindow, $"pacer sends {sentInOneRtt} bytes per min RTT, window is {c.CongestionWindow}");
        // ... while the window still bounds the queue: no more than one bandwidth-delay product plus the target.
        Assert.True(c.CongestionWindow <= 10_000_000 * (MinRttUs + MinRttUs / 2) / 1_000_000 + 3_000, $"window {c.CongestionWindow}");
    }
}
