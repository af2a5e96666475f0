using WanBond.Core.Sessions;
using WanBond.Linux.Control;

namespace WanBond.Linux.Datapath;

/// <summary>Turns the engine's cumulative per-path counters into per-interval rates for status output.</summary>
public sealed class PathMeter
{
    private long _lastBytesSent;
    private long _lastBytesReceived;
    private long _lastPacketsSent;
    private long _lastPacketsLost;
    private long _lastDataBytes;

    /// <summary>Bytes of datagrams received on this path (counted by the daemon; the engine does not).</summary>
    public long BytesReceived { get; set; }

    public long IntervalDataBytes { get; private set; }

    public LinkStatus Measure(in PathStats s, double intervalS)
    {
        var status = new LinkStatus
        {
            Path = s.PathId,
            RttMs = s.SrttUs / 1000.0,
            MinRttMs = s.MinRttUs / 1000.0,
            PacingMbps = s.PacingRateBps * 8 / 1e6,
            WindowKb = s.CongestionWindowBytes / 1000.0,
            InFlightKb = s.BytesInFlight / 1000.0,
            QueueDelayMs = s.QueueDelayUs / 1000.0,
            BytesSent = s.BytesSent,
            BytesReceived = BytesReceived,
            PacketsLost = s.PacketsLost,
            PacketsRepaired = s.PacketsRepaired,
        };
        if (intervalS > 0)
        {
            status.TxMbps = (s.BytesSent - _lastBytesSent) * 8 / intervalS / 1e6;
            status.RxMbps = (BytesReceived - _lastBytesReceived) * 8 / intervalS / 1e6;
            var sent = s.PacketsSent - _lastPacketsSent;
            status.LossPercent = sent > 0 ? 100.0 * (s.PacketsLost - _lastPacketsLost) / sent : 0;
        }
        IntervalDataBytes = s.DataBytesSent - _lastDataBytes;
        _lastBytesSent = s.BytesSent;
        _lastBytesReceived = BytesReceived;
        _lastPacketsSent = s.PacketsSent;
        _lastPacketsLost = s.PacketsLost;
        _lastDataBytes = s.DataBytesSent;
        return status;
    }

    /// <summary>Fills each link's share from the interval's data bytes, or from all-time data bytes when the interval was idle.</summary>
    public static void FillShares(List<LinkStatus> links, PathMeter[] meters, Func<int, long> allTimeDataBytes)
    {
        long interval = 0;
        foreach (var m in meters)
        {
            interval += m.IntervalDataBytes;
        }
        long total = 0;
        for (var i = 0; i < links.Count; i++)
        {
            total += allTimeDataBytes(i);
        }
        for (var i = 0; i < links.Count; i++)
        {
            links[i].SharePercent = interval > 0 ? 100.0 * meters[i].IntervalDataBytes / interval
                : total > 0 ? 100.0 * allTimeDataBytes(i) / total : 0;
        }
    }
}
