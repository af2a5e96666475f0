namespace WanBond.Core.Sessions;

/// <summary>
/// Measures the delay spread between paths as the receiver sees it: how long after a later
/// packet an earlier one arrives. Its decaying maximum sets the reorder buffer's hold bound
/// (DESIGN.md point 4), so the bound follows the paths instead of being a constant.
/// </summary>
internal sealed class LatenessTracker
{
    private const int Size = 4096;
    private const long MinBoundUs = 25_000;
    private const long MaxBoundUs = 1_000_000;
    private const long DecayStepUs = 1_000_000;

    private readonly long[] _arrivalUs = new long[Size];
    private readonly long[] _gseq = new long[Size];
    // Start cautious: until the paths' spread is measured, hold about as long as a typical one.
    private long _maxLatenessUs = 50_000;
    private long _lastDecayUs = long.MinValue;

    public LatenessTracker()
    {
        Array.Fill(_gseq, -1);
    }

    public void RecordArrival(long gseq, long nowUs)
    {
        var i = (int)(gseq & (Size - 1));
        _arrivalUs[i] = nowUs;
        _gseq[i] = gseq;
    }

    /// <summary>The packet <paramref name="gseq"/> arrived after some later one: how much later?</summary>
    public void AddSample(long gseq, long nowUs)
    {
        for (var k = 1; k <= 8; k++)
        {
            var g = gseq + k;
            var i = (int)(g & (Size - 1));
            if (_gseq[i] == g)
            {
                Decay(nowUs);
                _maxLatenessUs = Math.Max(_maxLatenessUs, nowUs - _arrivalUs[i]);
                return;
            }
        }
    }

    /// <param name="nowUs">Current time.</param>
    /// <param name="rttSpreadUs">Difference between the largest and smallest smoothed RTT of the usable paths, as this end measures them: a floor for the spread before lateness has been seen.</param>
    public long HoldBoundUs(long nowUs, long rttSpreadUs)
    {
        Decay(nowUs);
        return Math.Clamp(Math.Max(_maxLatenessUs * 3 / 2, rttSpreadUs) + 10_000, MinBoundUs, MaxBoundUs);
    }

    // The maximum fades by 5 % a second: one outage does not set the bound for minutes, and a quiet
    // spell without reordering does not forget the paths' spread before it shows again.
    private void Decay(long nowUs)
    {
        if (_lastDecayUs == long.MinValue)
        {
            _lastDecayUs = nowUs;
            return;
        }
        while (nowUs - _lastDecayUs >= DecayStepUs)
        {
            _maxLatenessUs = _maxLatenessUs * 19 / 20;
            _lastDecayUs += DecayStepUs;
            if (_maxLatenessUs == 0)
            {
                _lastDecayUs = nowUs;
            }
        }
    }
}
