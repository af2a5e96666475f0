namespace WanBond.Testbed.Emulation;

/// <summary>
/// How late events ran compared with when they were due, in 1 µs buckets up to 100 ms
/// (beyond that one overflow bucket). Written by one thread; read after it stops.
/// </summary>
internal sealed class LatenessHistogram
{
    private const int Buckets = 100_000;
    private readonly long[] _counts = new long[Buckets + 1];

    public long Count { get; private set; }

    public long MaxUs { get; private set; }

    public void Record(long latenessUs)
    {
        long us = Math.Max(0, latenessUs);
        _counts[Math.Min(us, Buckets)]++;
        Count++;
        if (us > MaxUs)
        {
            MaxUs = us;
        }
    }

    public void Add(LatenessHistogram other)
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }
        Count += other.Count;
        MaxUs = Math.Max(MaxUs, other.MaxUs);
    }

    /// <summary>Nearest-rank percentile in µs (0 when empty).</summary>
    public long PercentileUs(double p)
    {
        if (Count == 0)
        {
            return 0;
        }
        long rank = Math.Max(1, (long)Math.Ceiling(p / 100 * Count));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return i == Buckets ? MaxUs : i;
            }
        }
        return MaxUs;
    }
}
