namespace WanBond.Core.Paths;

/// <summary>
/// Smoothed RTT and variation as RFC 6298/9002, plus a windowed minimum: mobile paths move
/// between cells, so an all-time minimum would go stale.
/// </summary>
public sealed class RttEstimator
{
    /// <summary>Before the first sample: a conservative guess, as QUIC's initial RTT.</summary>
    public const long InitialRttUs = 200_000;

    private readonly WindowedMin _min;

    public RttEstimator(long minWindowUs = 20_000_000)
    {
        _min = new WindowedMin(minWindowUs);
    }

    public bool HasSample { get; private set; }
    public long SmoothedUs { get; private set; } = InitialRttUs;
    public long VariationUs { get; private set; } = InitialRttUs / 2;
    public long LatestUs { get; private set; }
    public long MinUs => _min.HasValue ? _min.Value : SmoothedUs;

    public void AddSample(long rttUs, long ackDelayUs, long nowUs)
    {
        if (rttUs <= 0)
        {
            rttUs = 1;
        }
        _min.Add(rttUs, nowUs);
        // Subtract the peer's ack delay only when that does not go below the minimum (RFC 9002 §5.3).
        var adjusted = rttUs - ackDelayUs >= _min.Value ? rttUs - ackDelayUs : rttUs;
        LatestUs = adjusted;
        if (!HasSample)
        {
            HasSample = true;
            SmoothedUs = adjusted;
            VariationUs = adjusted / 2;
            return;
        }
        VariationUs = (3 * VariationUs + Math.Abs(SmoothedUs - adjusted)) / 4;
        SmoothedUs = (7 * SmoothedUs + adjusted) / 8;
    }

    public void Reset()
    {
        HasSample = false;
        SmoothedUs = InitialRttUs;
        VariationUs = InitialRttUs / 2;
        LatestUs = 0;
        _min.Reset();
    }
}
