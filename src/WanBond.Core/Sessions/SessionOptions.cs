namespace WanBond.Core.Sessions;

/// <summary>Which scheduler picks the path for each packet.</summary>
public enum SchedulerKind
{
    /// <summary>Earliest predicted arrival among paths whose window and pacer have room.</summary>
    Adaptive,
    /// <summary>Baseline: each packet on the next path in turn.</summary>
    RoundRobin,
    /// <summary>Baseline, as gobonding's `relative`: split in proportion to each path's measured rate.</summary>
    Weighted,
    /// <summary>Baseline, MPTCP's default: lowest smoothed RTT among paths with window room.</summary>
    MinRtt,
}

/// <summary>Which per-path congestion controller runs.</summary>
public enum CongestionControlKind
{
    /// <summary><see cref="Congestion.DelayTargetController"/>: keeps each modem's queue near a small delay target.</summary>
    Delay,
    /// <summary><see cref="Congestion.RenoController"/>: loss-based, for comparison; fills the modem's buffer.</summary>
    Reno,
}

/// <summary>Which end of the tunnel this engine is: only session set-up differs.</summary>
public enum SessionRole
{
    /// <summary>The router: opens the session (Hello on every path).</summary>
    Initiator,
    /// <summary>The proxy: answers.</summary>
    Responder,
}

/// <summary>Engine settings. Defaults suit two to four mobile links.</summary>
public sealed class SessionOptions
{
    /// <summary>Number of paths (links); path ids are 0 .. PathCount-1 on both ends.</summary>
    public int PathCount { get; init; } = 2;

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.Adaptive;

    public CongestionControlKind CongestionControl { get; init; } = CongestionControlKind.Delay;

    /// <summary>Largest UDP payload a path carries (outer MTU minus outer IP and UDP headers).</summary>
    public int MaxDatagramSize { get; init; } = 1472;

    /// <summary>Bound of the sender queue (fq_codel), bytes of inner packets.</summary>
    public int SendQueueBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>
    /// CoDel target sojourn time, µs. Larger than fq_codel's 5 ms: the tunnel's capacity swings with
    /// the mobile links, and at 5–10 ms inner TCP flows were dropped at every dip (measured in the
    /// simulator: one NewReno flow over two LTE traces at 60 ms got 0.63–0.84 of the links' sum
    /// alone, 0.93 at 30 ms; 60 ms with an 800 ms interval gave one flow 2.7 % more than 30 / 400 over
    /// scripts/sim-tcp-set.sh's 150 runs). Flow queuing keeps this queue away from other flows.
    /// </summary>
    public long CodelTargetUs { get; init; } = 60_000;

    /// <summary>CoDel interval, µs: about the worst inner round trip over mobile links.</summary>
    public long CodelIntervalUs { get; init; } = 800_000;

    /// <summary>
    /// Least forward queueing delay each path's congestion controller aims at, µs; it aims at half the
    /// path's min RTT when that is more (a longer feedback loop needs more queue to ride out capacity swings).
    /// </summary>
    public long TargetQueueDelayUs { get; init; } = 25_000;
}
