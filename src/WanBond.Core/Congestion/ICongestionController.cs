namespace WanBond.Core.Congestion;

/// <summary>What one acknowledgement told the sender about a path.</summary>
/// <param name="NowUs">When the ack arrived.</param>
/// <param name="BytesAcked">Bytes newly acknowledged.</param>
/// <param name="BytesInFlight">Bytes still unacknowledged after this ack.</param>
/// <param name="SrttUs">Smoothed RTT after this ack.</param>
/// <param name="MinRttUs">Windowed minimum RTT.</param>
/// <param name="QueueDelayUs">Forward queueing delay: one-way delay above its windowed minimum (no clock sync needed).</param>
/// <param name="DeliveryRateBps">Delivery rate sample in bytes/s, measured on the receiver's clock; 0 when none.</param>
/// <param name="AppLimited">The sample was taken while the sender had nothing to send, so it may understate the path.</param>
public readonly record struct AckSample(
    long NowUs,
    long BytesAcked,
    long BytesInFlight,
    long SrttUs,
    long MinRttUs,
    long QueueDelayUs,
    long DeliveryRateBps,
    bool AppLimited);

/// <summary>
/// Per-path congestion control: decides how much may be in flight and how fast to pace.
/// Each path runs its own instance, so a path that slows down stops pulling packets within about an RTT.
/// </summary>
public interface ICongestionController
{
    /// <summary>Bytes allowed in flight.</summary>
    long CongestionWindow { get; }

    /// <summary>Pacing rate, bytes per second.</summary>
    long PacingRate { get; }

    void OnPacketSent(long nowUs, int bytes, long bytesInFlight);

    void OnAck(in AckSample sample);

    void OnPacketLost(long nowUs, int bytes, long sentUs);

    /// <summary>The path went down or came back: forget what was learned.</summary>
    void Reset(long nowUs);
}
