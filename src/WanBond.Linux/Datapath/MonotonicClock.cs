using System.Diagnostics;

namespace WanBond.Linux.Datapath;

/// <summary>The engine's time base: monotonic microseconds (the engine only ever compares them).</summary>
public static class MonotonicClock
{
    private static readonly double TicksToUs = 1_000_000.0 / Stopwatch.Frequency;

    public static long NowUs => Stopwatch.Frequency == 1_000_000_000 ? Stopwatch.GetTimestamp() / 1000 : (long)(Stopwatch.GetTimestamp() * TicksToUs);
}
