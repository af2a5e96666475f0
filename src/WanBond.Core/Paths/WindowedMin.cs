namespace WanBond.Core.Paths;

/// <summary>
/// Minimum of the samples of roughly the last <c>window</c>: the lesser of the current and the
/// previous half-window buckets. Constant memory, no per-sample allocation.
/// </summary>
public sealed class WindowedMin
{
    private readonly long _halfWindowUs;
    private long _currentStartUs = long.MinValue;
    private long _current = long.MaxValue;
    private long _previous = long.MaxValue;

    public WindowedMin(long windowUs)
    {
        _halfWindowUs = Math.Max(1, windowUs / 2);
    }

    public bool HasValue => Value != long.MaxValue;

    public long Value => Math.Min(_current, _previous);

    public void Add(long sample, long nowUs)
    {
        Rotate(nowUs);
        if (sample < _current)
        {
            _current = sample;
        }
    }

    private void Rotate(long nowUs)
    {
        if (_currentStartUs == long.MinValue)
        {
            _currentStartUs = nowUs;
            return;
        }
        if (nowUs - _currentStartUs >= 2 * _halfWindowUs)
        {
            _previous = long.MaxValue;
            _current = long.MaxValue;
            _currentStartUs = nowUs;
        }
        else if (nowUs - _currentStartUs >= _halfWindowUs)
        {
            _previous = _current;
            _current = long.MaxValue;
            _currentStartUs = nowUs;
        }
    }

    public void Reset()
    {
        _currentStartUs = long.MinValue;
        _current = long.MaxValue;
        _previous = long.MaxValue;
    }
}

/// <summary>Maximum of roughly the last <c>window</c>, as <see cref="WindowedMin"/>.</summary>
public sealed class WindowedMax
{
    private readonly WindowedMin _negated;

    public WindowedMax(long windowUs)
    {
        _negated = new WindowedMin(windowUs);
    }

    public bool HasValue => _negated.HasValue;

    public long Value => _negated.HasValue ? -_negated.Value : 0;

    public void Add(long sample, long nowUs) => _negated.Add(-sample, nowUs);

    public void Reset() => _negated.Reset();
}
