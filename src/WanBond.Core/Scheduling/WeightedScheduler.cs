using WanBond.Core.Paths;

namespace WanBond.Core.Scheduling;

/// <summary>
/// Baseline modelled on gobonding's `relative` balancer: an open-loop split in proportion to
/// each path's speed as measured over 500 ms windows, with no per-path window or pacing. Its
/// only brake is an aggregate pacer at 1.25 × the summed measured speeds (gobonding had none;
/// without one a backlogged sender would offer infinite load). The split is always stale on
/// links whose speed changes faster than it is measured: that is the failure wanbond fixes.
/// </summary>
public sealed class WeightedScheduler : IScheduler
{
    /// <summary>Speed assumed for a path not yet measured, bytes/s (8 Mbit/s).</summary>
    public const long UnmeasuredRate = 1_000_000;

    private long[] _credit = [];
    private long _nextSendUs;

    public int SelectPath(PathState[] paths, in ScheduleRequest request, out long retryAtUs)
    {
        if (_credit.Length != paths.Length)
        {
            _credit = new long[paths.Length];
        }
        var now = request.NowUs;
        if (_nextSendUs > now)
        {
            retryAtUs = _nextSendUs;
            return -1;
        }
        // Smooth weighted round robin (as nginx): every path gains its weight, the richest sends and pays the total.
        long total = 0;
        var best = -1;
        for (var i = 0; i < paths.Length; i++)
        {
            if (!paths[i].IsUsable || paths[i].Sent.IsFull)
            {
                continue;
            }
            var w = Weight(paths[i]);
            total += w;
            _credit[i] += w;
            if (best < 0 || _credit[i] > _credit[best])
            {
                best = i;
            }
        }
        if (best < 0)
        {
            retryAtUs = long.MaxValue;
            return -1;
        }
        _credit[best] -= total;
        var aggregate = total * 5 / 4;
        _nextSendUs = Math.Max(_nextSendUs, now - 2_000) + request.PacketBytes * 1_000_000L / Math.Max(1, aggregate);
        retryAtUs = now;
        return best;
    }

    public void OnSent(PathState path, int bytes, long nowUs)
    {
    }

    private static long Weight(PathState p) => p.HasMeasuredRate ? Math.Max(16_000, p.MeasuredRateBps) : UnmeasuredRate;
}
