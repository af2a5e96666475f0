using CsCheck;
using WanBond.Core.Security;

namespace WanBond.Core.Tests.Security;

public class RateLimiterTests
{
    private const long Second = 1_000_000;

    [Fact]
    public void A_source_gets_its_burst_then_the_sustained_rate()
    {
        var limiter = new HandshakeRateLimiter(capacity: 64, messagesPerSecond: 20, burst: 5);
        byte[] source = [10, 0, 0, 1];
        for (int i = 0; i < 5; i++)
        {
            Assert.True(limiter.Allow(source, 0), $"burst message {i}");
        }

        Assert.False(limiter.Allow(source, 0));
        Assert.False(limiter.Allow(source, 49_999));
        Assert.True(limiter.Allow(source, 50_000)); // one token per 50 ms at 20/s
        Assert.False(limiter.Allow(source, 50_001));

        // Over 10 s at a steady hammering it gets about 10 × 20 messages, not more.
        int allowed = 0;
        for (long t = Second; t < 11 * Second; t += 1_000)
        {
            allowed += limiter.Allow(source, t) ? 1 : 0;
        }

        Assert.InRange(allowed, 200, 206);
    }

    [Fact]
    public void Sources_are_limited_independently()
    {
        var limiter = new HandshakeRateLimiter(capacity: 1024, messagesPerSecond: 1, burst: 1);
        byte[] a = [10, 0, 0, 1];
        byte[] b = [10, 0, 0, 2];
        Assert.True(limiter.Allow(a, 0));
        Assert.False(limiter.Allow(a, 0));
        Assert.True(limiter.Allow(b, 0));
        Assert.False(limiter.Allow(b, 0));
    }

    [Fact]
    public void Memory_is_bounded_whatever_the_number_of_sources()
    {
        var limiter = new HandshakeRateLimiter(capacity: 256);
        int capacity = limiter.Capacity;
        var source = new byte[16];
        for (int i = 0; i < 3; i++)
        {
            limiter.Allow(source, 0); // warm-up
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200_000; i++)
        {
            BitConverter.TryWriteBytes(source, i);
            limiter.Allow(source, i);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // A few hundred bytes may come from the JIT moving the loop to optimised code mid-run;
        // one allocation per call would be megabytes.
        Assert.InRange(allocated, 0, 4096);
        Assert.Equal(capacity, limiter.Capacity);
        Assert.InRange(limiter.Occupied, 1, capacity);
    }

    [Fact]
    public void A_flood_of_new_sources_does_not_lift_the_limit_of_a_source_far_beyond_its_burst()
    {
        // Property: whatever other sources do, one source never gets more than
        // burst + rate × time + burst × evictions; with a table much larger than the flood's set pressure
        // it gets exactly its rate.
        Gen.Int[1, 2000].Array[0, 400].Sample(others =>
        {
            var limiter = new HandshakeRateLimiter(capacity: 4096, messagesPerSecond: 10, burst: 3);
            byte[] victim = [1, 2, 3, 4];
            var other = new byte[4];
            int allowed = 0;
            long t = 0;
            foreach (var o in others)
            {
                BitConverter.TryWriteBytes(other, o + 1_000_000);
                limiter.Allow(other, t);
                allowed += limiter.Allow(victim, t) ? 1 : 0;
                t += 1_000; // 1 ms per step
            }

            long maxAllowed = 3 + (t / 100_000) + 1;
            Assert.True(allowed <= maxAllowed, $"{allowed} > {maxAllowed}");
        });
    }

    [Fact]
    public void Load_detector_raises_the_flag_on_overflow_and_keeps_it_a_second()
    {
        var load = new HandshakeLoadDetector(messagesPerSecond: 100, burst: 10);
        for (int i = 0; i < 10; i++)
        {
            Assert.False(load.RecordMessage(0));
        }

        Assert.True(load.RecordMessage(0));
        Assert.True(load.IsUnderLoad(HandshakeLoadDetector.HoldUs - 1));
        Assert.False(load.IsUnderLoad(HandshakeLoadDetector.HoldUs));

        // A steady rate below the limit never raises it.
        var calm = new HandshakeLoadDetector(messagesPerSecond: 100, burst: 10);
        for (long t = 0; t < 5 * Second; t += 20_000)
        {
            Assert.False(calm.RecordMessage(t));
        }
    }
}
