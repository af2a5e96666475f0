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
    Timeline? Timeline);
