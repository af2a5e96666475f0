using WanBond.Core.Sessions;

namespace WanBond.Sim;

/// <summary>Which way the workload's data flows.</summary>
public enum DataDirection
{
    /// <summary>Proxy → router (a download): the links' .down traces carry the data.</summary>
    Down,
    /// <summary>Router → proxy (an upload): the links' .up traces carry the data.</summary>
    Up,
}

public enum WorkloadKind
{
    Bulk,
    Cbr,
    Tcp,
}

/// <summary>One link: a trace or constant rate per direction, plus delay, queue and loss.</summary>
/// <param name="UpTrace">Router → proxy capacity, or null for a constant-rate link.</param>
/// <param name="DownTrace">Proxy → router capacity, or null for a constant-rate link.</param>
/// <param name="RateMbps">Constant rate in both directions (used when the traces are null).</param>
/// <param name="DelayMs">One-way propagation delay, each direction.</param>
/// <param name="QueueMs">Drop-tail queue limit, as milliseconds at the direction's mean rate.</param>
/// <param name="Loss">Random loss probability per packet, each direction.</param>
public sealed record LinkSpec(MahimahiTrace? UpTrace, MahimahiTrace? DownTrace, double RateMbps, double DelayMs, double QueueMs, double Loss)
{
    public bool IsTrace => UpTrace is not null;

    public string Describe() => IsTrace
        ? FormattableString.Invariant($"{System.IO.Path.GetFileName(UpTrace!.Name)},{System.IO.Path.GetFileName(DownTrace!.Name)},{DelayMs}ms,q{QueueMs}ms,loss{Loss}")
        : FormattableString.Invariant($"{RateMbps}Mbit/s,{DelayMs}ms,q{QueueMs}ms,loss{Loss}");
}

/// <summary>A window in which a link carries nothing in either direction (the engine is not told).</summary>
public sealed record CutSpec(int Link, double StartS, double EndS);

public sealed record WorkloadSpec(WorkloadKind Kind, double CbrMbps = 0, int TcpFlows = 0)
{
    public override string ToString() => Kind switch
    {
        WorkloadKind.Bulk => "bulk",
        WorkloadKind.Cbr => FormattableString.Invariant($"cbr:{CbrMbps}"),
        _ => FormattableString.Invariant($"tcp:{TcpFlows}"),
    };
}

/// <summary>Everything one simulation run needs. Same scenario → same result, byte for byte.</summary>
public sealed class Scenario
{
    public required IReadOnlyList<LinkSpec> Links { get; init; }

    public WorkloadSpec Workload { get; init; } = new(WorkloadKind.Bulk);

    public DataDirection Direction { get; init; } = DataDirection.Down;

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.Adaptive;

    public CongestionControlKind CongestionControl { get; init; } = CongestionControlKind.Delay;

    public double DurationS { get; init; } = 30;

    public ulong Seed { get; init; } = 1;

    public IReadOnlyList<CutSpec> Cuts { get; init; } = [];

    /// <summary>TCP flows start at a random offset in [0, this) ms drawn from the seed; 0: the first at once, the others within 10 ms.</summary>
    public int StartJitterMs { get; init; }

    /// <summary>TCP flows leave slow start on a rising RTT as Linux's HyStart does (<see cref="TcpFlow"/>).</summary>
    public bool HyStart { get; init; }

    /// <summary>
    /// Bulk: inner packets the sender keeps queued (default 4). Without the tunnel they wait in the link's own
    /// queue: a host that sees the modem queue at once, which no real sender can (docs/simulator.md).
    /// </summary>
    public int BacklogPackets { get; init; } = DefaultBacklogPackets;

    public const int DefaultBacklogPackets = 4;

    /// <summary>Timeline interval in ms, 0 for none.</summary>
    public int TimelineMs { get; init; }

    /// <summary>Baseline: the workload runs straight over the single link, no engine.</summary>
    public bool NoTunnel { get; init; }

    /// <summary>Test hook: each TCP flow stops after this many new segments (0 = backlogged forever).</summary>
    internal long TcpSegmentsPerFlow { get; init; }
}
