using WanBond.Core.Paths;

namespace WanBond.Core.Scheduling;

/// <summary>
/// The adaptive scheduler (DESIGN.md point 3): among paths whose congestion window has room,
/// send where the packet is predicted to arrive first (pacer wait + one-way delay). A slower
/// path that is free now gets the packet only if it still arrives no later than the fastest path
/// could deliver it after draining everything queued ahead (the ECF rule), or if the sender has
/// been backlogged for longer than the delay the slow path adds (then the fast path alone cannot
/// keep up, and waiting would only move the delay from the receiver's reorder buffer into the
/// sender's queue). So a light load rides the fast path and a heavy one uses every path.
/// </summary>
public sealed class EarliestArrivalScheduler : IScheduler
{

    public int SelectPath(PathState[] paths, in ScheduleRequest request, out long retryAtUs)
    {
        var now = request.NowUs;
        var bytes = request.PacketBytes;

        // The path with the earliest single-packet arrival, ready now or not.
        var best = -1;
        var bestArrival = long.MaxValue;
        var bestReadyAt = long.MaxValue;
        for (var i = 0; i < paths.Length; i++)
        {
            var p = paths[i];
            if (!p.IsUsable || !p.HasWindowRoom(bytes, request.Urgent))
            {
                continue;
            }
            var readyAt = Math.Max(now, p.NextSendUs);
            var arrival = readyAt + p.PacingIntervalUs(bytes) + p.OneWayDelayEstimateUs;
            if (arrival < bestArrival)
            {
                best = i;
                bestArrival = arrival;
                bestReadyAt = readyAt;
            }
        }
        if (best < 0)
        {
            retryAtUs = long.MaxValue;
            return -1;
        }
        if (bestReadyAt <= now)
        {
            retryAtUs = now;
            return best;
        }

        // The fastest path is busy: were it to carry everything queued, the last packet would arrive here.
        var fast = paths[best];
        var drainArrival = bestReadyAt
            + (long)Math.Min(request.QueuedPackets, 1 << 16) * fast.PacingIntervalUs(bytes)
            + fast.OneWayDelayEstimateUs;
        var alt = -1;
        var altArrival = long.MaxValue;
        for (var i = 0; i < paths.Length; i++)
        {
            var p = paths[i];
            if (i == best || !PathReadiness.IsReady(p, request))
            {
                continue;
            }
            var arrival = now + p.PacingIntervalUs(bytes) + p.OneWayDelayEstimateUs;
            var worthIt = arrival <= drainArrival || request.BacklogUs >= arrival - bestArrival;
            if (worthIt && arrival < altArrival)
            {
                alt = i;
                altArrival = arrival;
            }
        }
        retryAtUs = alt >= 0 ? now : bestReadyAt;
        return alt;
    }

    public void OnSent(PathState path, int bytes, long nowUs)
    {
    }
}
