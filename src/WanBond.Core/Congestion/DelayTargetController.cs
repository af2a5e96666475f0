using WanBond.Core.Paths;

namespace WanBond.Core.Congestion;

/// <summary>
/// Delay-based control in the spirit of BBR and Copa, tuned for mobile links whose capacity
/// moves by 2x within a fraction of a second: cap what is in flight at about one delivery-rate ×
/// (min RTT + a target queue of about half of it), with the rate the recent maximum of what the
/// path delivered, and pace fast enough (1.6 × the rate) that the window, not the pacer, is the limit.
/// The modem buffer then holds only the target queue, so path delays stay small and predictable.
/// </summary>
public sealed class DelayTargetController : ICongestionController
{
    private const int Mss = 1500;
    private const long InitialWindow = 20 * Mss;
    private const long InitialPacingRate = InitialWindow * 1_000_000 / 50_000; // a window per 50 ms
    private const long MinWindow = 4 * Mss;
    private const long MinRate = 16_000; // 128 kbit/s: a path never paces slower than this
    private const long StartupWindowPacingGain = 4; // startup paces at 4 windows per min RTT: bursts pass, the window limits
    private const long SteadyPacingGainPercent = 160; // after startup: a whole window can leave within about one round trip (see OnAck)

    private readonly long _minTargetUs;
    private long _targetUs;

    private readonly WindowedMax _bandwidth;
    private bool _startup = true;
    private long _cwnd = InitialWindow;
    private long _pacing;
    private long _startupBestRate;
    private int _startupStalls;
    private long _lastStartupCheckUs;
    private long _nextDrainUs = long.MinValue;
    private long _drainEndUs = long.MinValue;

    // The bandwidth filter's clock runs only while acks measure the path (samples that are not app-limited).
    // A path the scheduler leaves idle, or feeds only a trickle, keeps the capacity it last measured instead
    // of forgetting it after 200 ms and taking the first trickle's rate for its capacity (seen in the
    // simulator: a 28 Mbit/s LTE link left idle for 1.5 s came back at 1.1 Mbit/s and needed 5 s to ramp up
    // again). BBR counts its filter window in round trips for the same reason.
    private long _filterClockUs;
    private long _lastAckUs = long.MinValue;

    /// <summary>How often the path's queue is emptied for a moment, so the minimum RTT and one-way delay stay true (as BBR's ProbeRTT).</summary>
    public const long DrainIntervalUs = 10_000_000;

    /// <param name="targetQueueDelayUs">Queueing delay to aim at above the path's minimum.</param>
    /// <param name="bandwidthWindowUs">How long a measured delivery rate is trusted, in time the path spends measured (not app-limited).</param>
    public DelayTargetController(long targetQueueDelayUs = 20_000, long bandwidthWindowUs = 200_000)
    {
        _minTargetUs = targetQueueDelayUs;
        _targetUs = targetQueueDelayUs;
        _bandwidth = new WindowedMax(bandwidthWindowUs);
        _pacing = InitialPacingRate;
    }

    public long CongestionWindow => _cwnd;

    public long PacingRate => _pacing;

    /// <summary>Still doubling to find the path's capacity.</summary>
    public bool InStartup => _startup;

    public long BandwidthEstimate => _bandwidth.Value;

    public void OnPacketSent(long nowUs, int bytes, long bytesInFlight)
    {
    }

    public void OnAck(in AckSample sample)
    {
        if (_lastAckUs != long.MinValue && !sample.AppLimited)
        {
            _filterClockUs += Math.Max(0, sample.NowUs - _lastAckUs);
        }
        _lastAckUs = sample.NowUs;
        if (sample.DeliveryRateBps > 0 && (!sample.AppLimited || sample.DeliveryRateBps > _bandwidth.Value))
        {
            _bandwidth.Add(sample.DeliveryRateBps, _filterClockUs);
        }
        var bw = _bandwidth.Value;
        var rtt = Math.Max(sample.MinRttUs, 1_000);
        // The queue that keeps a path busy through its capacity swings grows with the feedback delay.
        _targetUs = Math.Max(_minTargetUs, rtt / 2);

        if (_startup)
        {
            _cwnd += sample.BytesAcked;
            if (bw > 0)
            {
                // At most two bandwidth-delay products in flight (BBR's startup cwnd gain): the queue
                // that doubling leaves behind before its exit is seen stays within a modem's buffer.
                _cwnd = Math.Min(_cwnd, Math.Max(InitialWindow, 2 * bw * rtt / 1_000_000 + bw * _targetUs / 1_000_000));
            }
            if (sample.QueueDelayUs > _targetUs)
            {
                _startup = false;
            }
            else if (bw > 0 && !sample.AppLimited && sample.NowUs - _lastStartupCheckUs >= rtt)
            {
                // Leave startup when the rate stops growing by 25% per round (BBR's full-pipe test).
                // Rounds where the sender ran out of data do not count: an inner TCP flow still in slow
                // start is what limits them, not the path.
                _lastStartupCheckUs = sample.NowUs;
                if (bw >= _startupBestRate * 5 / 4)
                {
                    _startupBestRate = bw;
                    _startupStalls = 0;
                }
                else if (++_startupStalls >= 3)
                {
                    _startup = false;
                }
            }
            // In startup the window, not the pacer, is the limit: an inner TCP flow in slow start sends
            // bursts, and pacing them at a rate guessed from app-limited samples (a tunnel that was idle
            // measured only keepalives) delays the burst's tail by tens of ms. Linux's HyStart reads that
            // as a full pipe and leaves slow start at a tenth of the bond's capacity (seen in the testbed:
            // ssthresh 28 packets). A modem queue absorbs a window-sized burst easily.
            _pacing = Math.Max(InitialPacingRate, Math.Max(2 * bw, StartupWindowPacingGain * _cwnd * 1_000_000 / Math.Max(rtt, 10_000)));
            if (!_startup)
            {
                _cwnd = Math.Max(MinWindow, bw * (rtt + _targetUs) / 1_000_000 + 2 * Mss);
            }
            return;
        }

        if (bw <= 0)
        {
            return;
        }
        if (_nextDrainUs == long.MinValue)
        {
            _nextDrainUs = sample.NowUs + DrainIntervalUs;
        }
        if (sample.NowUs >= _nextDrainUs)
        {
            _nextDrainUs = sample.NowUs + DrainIntervalUs;
            _drainEndUs = sample.NowUs + Math.Max(sample.SrttUs, 50_000) * 3 / 2;
        }
        if (sample.NowUs < _drainEndUs)
        {
            // A little less than a bandwidth-delay product in flight: the modem queue empties while
            // the link stays nearly busy, so draining costs almost no throughput.
            _cwnd = Math.Max(MinWindow, bw * rtt * 85 / 100_000_000);
            _pacing = Math.Max(MinRate, bw);
            return;
        }
        // The window, not the pacer, sets the queue: one bandwidth-delay product plus the target
        // queue. A window closes on itself through ack clocking, where a rate loop on a delayed
        // delay signal oscillates and lets the modem's queue run dry. The window is not cut to the
        // latest sample when the queue runs past the target: on these links that is mostly a pause
        // in the trace, the sample taken in it is a fraction of the capacity that comes back after
        // it, and the cut window left the link idle while the pacer climbed back (the simulator's
        // bulk runs: 1.5 points of efficiency). A real fall in capacity leaves the 200 ms maximum.
        _cwnd = Math.Max(MinWindow, bw * (rtt + _targetUs) / 1_000_000 + 2 * Mss);
        // Pace well above the estimate: the window is one bandwidth-delay product plus a target of
        // about half the minimum RTT, and at 1.6 × the rate a whole window leaves within about one round
        // trip. When a burst of capacity drains the modem's queue, the window the acks open refills it
        // at once; at 1.25 × (BBR's probing gain) that window took 1.2 round trips to leave, and the
        // link idled meanwhile (seen in the simulator). The window, not the pacer, bounds the queue.
        _pacing = Math.Max(MinRate, bw * SteadyPacingGainPercent / 100);
    }

    public void OnPacketLost(long nowUs, int bytes, long sentUs)
    {
        // Delay, not loss, is the signal: mobile links lose packets at random. A loss in startup
        // means a buffer overflowed, so stop doubling.
        if (_startup && _bandwidth.HasValue)
        {
            _startup = false;
            _cwnd = Math.Max(MinWindow, _bandwidth.Value * (RttEstimator.InitialRttUs / 4 + 2 * _targetUs) / 1_000_000);
        }
    }

    public void Reset(long nowUs)
    {
        _bandwidth.Reset();
        _lastAckUs = long.MinValue;
        _startup = true;
        _startupBestRate = 0;
        _startupStalls = 0;
        _cwnd = InitialWindow;
        _pacing = InitialPacingRate;
    }
}
