using WanBond.Core.Congestion;

namespace WanBond.Core.Paths;

/// <summary>Liveness of a path as the sender sees it.</summary>
public enum PathLiveness
{
    /// <summary>Answering; carries data.</summary>
    Up,
    /// <summary>Stopped answering for max(1 s, 4 × RTT): only probes go out until it answers.</summary>
    Down,
}

/// <summary>
/// One link as the engine sees it, both directions: the sender's closed loop (packet numbers,
/// RTT, one-way-delay variation, delivery rate, congestion control, pacer, liveness) and the
/// receiver's ack state for what arrives on it.
/// </summary>
public sealed class PathState
{
    public PathState(int id, ICongestionController controller)
    {
        Id = id;
        Controller = controller;
    }

    public int Id { get; }
    public ICongestionController Controller { get; private set; }
    internal SentPacketRing Sent { get; } = new();
    public RttEstimator Rtt { get; } = new();

    // ---- sender side ----
    public PathLiveness Liveness { get; set; } = PathLiveness.Up;
    /// <summary>The link layer says the interface is there (the daemon's view; always true in the simulator).</summary>
    public bool LinkPresent { get; set; } = true;
    public long BytesInFlight { get; set; }
    public long NextSendUs { get; set; }
    public ulong LargestAcked { get; set; }
    public bool HasAcked { get; set; }
    public long LastAckUs { get; set; }
    public long LastSendUs { get; set; } = long.MinValue;
    public long NextProbeUs { get; set; }
    /// <summary>Loss-detection timer (time threshold), long.MaxValue when none.</summary>
    public long LossTimerUs { get; set; } = long.MaxValue;
    /// <summary>In-flight data stuck longer than expected was copied onto other paths.</summary>
    public bool Stalled { get; set; }

    /// <summary>All of a stalled path's in-flight data has been copied elsewhere (until it answers again).</summary>
    public bool StallReinjected { get; set; }

    /// <summary>Bytes this path has delivered (acknowledged), for delivery-rate samples.</summary>
    public long Delivered { get; set; }

    /// <summary>Samples stay app-limited until <see cref="Delivered"/> passes this (the bubble's end).</summary>
    public long AppLimitedUntil { get; set; }
    public uint DeliveredRxTime { get; set; }
    public bool HasDeliveredRxTime { get; set; }

    /// <summary>One-way delay (receiver clock − sender clock, wrapping) of the freshest sample, and its windowed minimum: their difference is the forward queueing delay, immune to clock offset.</summary>
    public WindowedMin OneWayDelayMin { get; } = new(20_000_000);
    public long QueueDelayUs { get; set; }

    /// <summary>Bytes acknowledged in the current and the last complete 500 ms window (the `weighted` baseline's speed test, as gobonding's).</summary>
    public long WindowAckedBytes { get; set; }
    public long WindowStartUs { get; set; }
    public long MeasuredRateBps { get; set; }
    public bool HasMeasuredRate { get; set; }

    // ---- counters ----
    public long PacketsSent { get; set; }
    public long BytesSent { get; set; }
    public long DataBytesSent { get; set; }
    public long PacketsLost { get; set; }
    public long PacketsRepaired { get; set; }

    // ---- receiver side ----
    public ReceivedRanges Received { get; } = new();
    public long LargestReceivedUs { get; set; }
    public int AckElicitingUnacked { get; set; }
    public long AckDueUs { get; set; } = long.MaxValue;
    public bool AckInfoPending { get; set; }
    public long LastReceiveUs { get; set; } = long.MinValue;

    /// <summary>Can take new data now or later: up, present and not stuck.</summary>
    public bool IsUsable => Liveness == PathLiveness.Up && LinkPresent && !Stalled;

    /// <param name="bytes">Size of the packet.</param>
    /// <param name="urgent">A repair of data stuck on another path: it may use half a window more, since
    /// what it replaces is not getting through anyway and the receiver is holding later packets for it.</param>
    public bool HasWindowRoom(int bytes, bool urgent = false) =>
        !Sent.IsFull && BytesInFlight + bytes <= (urgent ? Controller.CongestionWindow * 3 / 2 : Controller.CongestionWindow);

    /// <summary>Recent delivery rate, bytes/s (a light average of the samples; 0 before the first).</summary>
    public long DeliveryRateBps { get; set; }

    /// <summary>
    /// Predicted time from handing a packet to this path until it reaches the peer: half the min RTT
    /// plus the queue ahead of it. The queue is estimated from what is in flight beyond one
    /// bandwidth-delay product at the recent delivery rate: that reacts within one ack when the
    /// link slows, where the measured queueing delay lags by a round trip. The larger of the two is used.
    /// </summary>
    public long OneWayDelayEstimateUs
    {
        get
        {
            var queue = QueueDelayUs;
            if (DeliveryRateBps > 0)
            {
                var excess = BytesInFlight - DeliveryRateBps * Rtt.MinUs / 1_000_000;
                if (excess > 0)
                {
                    queue = Math.Max(queue, excess * 1_000_000 / DeliveryRateBps);
                }
            }
            return Rtt.MinUs / 2 + queue;
        }
    }

    /// <summary>Time a packet of <paramref name="bytes"/> occupies the pacer.</summary>
    public long PacingIntervalUs(int bytes) => bytes * 1_000_000L / Math.Max(1, Controller.PacingRate);

    public void ReplaceController(ICongestionController controller) => Controller = controller;
}
