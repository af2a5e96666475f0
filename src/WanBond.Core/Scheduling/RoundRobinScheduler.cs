using WanBond.Core.Paths;

namespace WanBond.Core.Scheduling;

/// <summary>Baseline: each packet on the next path in turn that has window and pacer room.</summary>
public sealed class RoundRobinScheduler : IScheduler
{
    private int _next;

    public int SelectPath(PathState[] paths, in ScheduleRequest request, out long retryAtUs)
    {
        for (var k = 0; k < paths.Length; k++)
        {
            var i = (_next + k) % paths.Length;
            if (PathReadiness.IsReady(paths[i], request))
            {
                _next = (i + 1) % paths.Length;
                retryAtUs = request.NowUs;
                return i;
            }
        }
        retryAtUs = PathReadiness.EarliestPacerTime(paths, request);
        return -1;
    }

    public void OnSent(PathState path, int bytes, long nowUs)
    {
    }
}
