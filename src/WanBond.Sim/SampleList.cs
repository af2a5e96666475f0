namespace WanBond.Sim;

/// <summary>A growable list of µs samples with nearest-rank percentiles. Grows by doubling, so appends are amortised allocation-free.</summary>
internal sealed class SampleList
{
    private long[] _items = new long[4096];
    private bool _sorted = true;

    public int Count { get; private set; }

    public void Add(long value)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }
        _items[Count++] = value;
        _sorted = false;
    }

    /// <summary>Nearest-rank percentile (p in 0..1) in milliseconds, or NaN with no samples.</summary>
    public double PercentileMs(double p)
    {
        if (Count == 0)
        {
            return double.NaN;
        }
        if (!_sorted)
        {
            Array.Sort(_items, 0, Count);
            _sorted = true;
        }
        int rank = (int)Math.Ceiling(p * Count) - 1;
        return _items[Math.Clamp(rank, 0, Count - 1)] / 1000.0;
    }
}
