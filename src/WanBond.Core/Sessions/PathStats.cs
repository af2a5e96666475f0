namespace WanBond.Core.Sessions;

/// <summary>A snapshot of one path as the engine sees it (for status output and the simulator).</summary>
public readonly record struct PathStats(
    int PathId,
    bool IsUp,
    long SrttUs,
    long MinRttUs,
    long LatestRttUs,
    long PacingRateBps,
    long CongestionWindowBytes,
    long BytesInFlight,
    long PacketsSent,
    long BytesSent,
    long DataBytesSent,
    long PacketsLost,
    long PacketsRepaired,
    long QueueDelayUs);
