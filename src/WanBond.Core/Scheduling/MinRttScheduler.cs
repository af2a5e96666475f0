using WanBond.Core.Paths;

namespace WanBond.Core.Scheduling;

/// <summary>Baseline, MPTCP's default: the lowest smoothed RTT among paths with window and pacer room.</summary>
public sealed class MinRttScheduler : IScheduler
{
    public int SelectPath(PathState[] paths, in ScheduleRequest request, out long retryAtUs)
    {
        var best = -1;
        for (var i = 0; i < paths.Length; i++)
        {
            if (PathReadiness.IsReady(paths[i], request)
                && (best < 0 || paths[i].Rtt.SmoothedUs < paths[best].Rtt.SmoothedUs))
            {
                best = i;
            }
        }
        retryAtUs = best >= 0 ? request.NowUs : PathReadiness.EarliestPacerTime(paths, request);
        return best;
    }

    public void OnSent(PathState path, int bytes, long nowUs)
    {
    }
}
