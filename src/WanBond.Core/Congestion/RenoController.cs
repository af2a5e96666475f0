namespace WanBond.Core.Congestion;

/// <summary>
/// Loss-based NewReno-style control (slow start, additive increase, halve on loss, at most once
/// per RTT), paced at 1.25 × cwnd / srtt. Kept for comparison with the delay-based controller:
/// it fills the modem's buffer before it backs off, which is what DESIGN.md point 2 avoids.
/// </summary>
public sealed class RenoController : ICongestionController
{
    private const int Mss = 1500;
    private long _cwnd = 10 * Mss;
    private long _ssthresh = long.MaxValue;
    private long _recoveryStartUs = long.MinValue;
    private long _srttUs = 100_000;

    public long CongestionWindow => _cwnd;

    public long PacingRate => Math.Max(16_000, _cwnd * 1_000_000 / Math.Max(_srttUs, 1_000) * 5 / 4);

    public void OnPacketSent(long nowUs, int bytes, long bytesInFlight)
    {
    }

    public void OnAck(in AckSample sample)
    {
        _srttUs = sample.SrttUs;
        if (_cwnd < _ssthresh)
        {
            _cwnd += sample.BytesAcked;
        }
        else
        {
            _cwnd += Math.Max(1, Mss * sample.BytesAcked / _cwnd);
        }
    }

    public void OnPacketLost(long nowUs, int bytes, long sentUs)
    {
        if (sentUs <= _recoveryStartUs)
        {
            return;
        }
        _recoveryStartUs = nowUs;
        _cwnd = Math.Max(2 * Mss, _cwnd / 2);
        _ssthresh = _cwnd;
    }

    public void Reset(long nowUs)
    {
        _cwnd = 10 * Mss;
        _ssthresh = long.MaxValue;
        _recoveryStartUs = long.MinValue;
    }
}
