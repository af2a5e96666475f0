namespace WanBond.Sim;

/// <summary>One path's figures; traffic figures are for the data direction.</summary>
public sealed record PathResult(
    int Path,
    string Link,
    double CapacityMbps,
    double CarriedMbps,
    double Utilization,
    double Share,
    double RttP50Ms,
    double RttP95Ms,
    long QueueDrops,
    long LossDrops);

/// <summary>Per-interval goodput and per-path carried rate (data direction), Mbit/s; TimeS is each interval's end.</summary>
public sealed record Timeline(int IntervalMs, double[] TimeS, double[] GoodputMbps, double[][] PathMbps);

/// <summary>What a run measured. Ratios are NaN when undefined (written as null).</summary>
public sealed record SimResult(
    Scenario Scenario,
    double CapacityMbps,
    double GoodputMbps,
    double Efficiency,
    double DelayP50Ms,
    double DelayP95Ms,
    double DelayP99Ms,
    double ReorderHoldP95Ms,
    long InnerRetransmits,
    long SenderQueueDrops,
    long LinkQueueDrops,
    long LinkLossDrops,
    long DeliveredPackets,
    IReadOnlyList<PathResult> Paths,
    Timeline? Timeline,
    EngineCounters? Engine = null,
    long InnerFastRecoveries = 0,
    long InnerTimeouts = 0);

/// <summary>What the engines counted (null without the tunnel): where packets were lost or repaired inside the tunnel.</summary>
/// <param name="SenderAqmDrops">Inner packets the sending engine's fq_codel queue dropped.</param>
/// <param name="ReorderSkipped">Holes the receiving engine released past (lost, or later than its hold bound).</param>
/// <param name="ReorderSkippedLate">Of those, holes not known lost: released past because they were later than the hold bound.</param>
/// <param name="TunnelLost">Tunnel packets the sender declared lost, all paths.</param>
/// <param name="Repaired">Data packets sent again on another path (repairs and reinjections).</param>
/// <param name="Rejected">Datagrams either engine rejected.</param>
/// <param name="RepairsWithheld">Copies of late packets the sender released unsent (the original got through first).</param>
/// <param name="ReverseAqmDrops">Inner packets (e.g. TCP acks) the receiving end's own sender queue dropped on their way back.</param>
/// <param name="ReverseReorderSkipped">Holes released past in the reverse direction.</param>
public sealed record EngineCounters(long SenderAqmDrops, long ReorderSkipped, long ReorderSkippedLate, long TunnelLost, long Repaired, long Rejected, long ReverseAqmDrops, long ReverseReorderSkipped, long RepairsWithheld);
