using WanBond.Core.Paths;

namespace WanBond.Core.Scheduling;

/// <summary>The packet a scheduler places and how much is queued behind it.</summary>
/// <param name="NowUs">Current time.</param>
/// <param name="PacketBytes">Datagram size of the packet to place.</param>
/// <param name="QueuedPackets">Packets waiting to be sent, this one included.</param>
/// <param name="BacklogUs">How long the sender queue has been non-empty without a break: a busy period
/// longer than the paths' delay difference means the fast paths alone cannot keep up.</param>
/// <param name="Urgent">The packet is a repair: see <see cref="PathState.HasWindowRoom"/>.</param>
public readonly record struct ScheduleRequest(long NowUs, int PacketBytes, int QueuedPackets, long BacklogUs = 0, bool Urgent = false);

/// <summary>Chooses the path for each data packet.</summary>
public interface IScheduler
{
    /// <summary>
    /// Returns the index of the path to send on now, or -1 to wait; then
    /// <paramref name="retryAtUs"/> says when asking again may succeed (long.MaxValue: only an ack can help).
    /// </summary>
    int SelectPath(PathState[] paths, in ScheduleRequest request, out long retryAtUs);

    /// <summary>Told after each data packet is sent on <paramref name="path"/>.</summary>
    void OnSent(PathState path, int bytes, long nowUs);
}

internal static class PathReadiness
{
    /// <summary>The path's window and pacer both have room for the packet now.</summary>
    public static bool IsReady(PathState p, in ScheduleRequest r) =>
        p.IsUsable && p.HasWindowRoom(r.PacketBytes, r.Urgent) && p.NextSendUs <= r.NowUs;

    /// <summary>Earliest pacer time among usable paths with window room; long.MaxValue if none.</summary>
    public static long EarliestPacerTime(PathState[] paths, in ScheduleRequest r)
    {
        var t = long.MaxValue;
        foreach (var p in paths)
        {
            if (p.IsUsable && p.HasWindowRoom(r.PacketBytes, r.Urgent) && p.NextSendUs < t)
            {
                t = p.NextSendUs;
            }
        }
        return t;
    }
}
