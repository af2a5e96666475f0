using WanBond.Core.Wire;

namespace WanBond.Core.Paths;

/// <summary>
/// The receiver's record of which packet numbers arrived on one path, as disjoint ranges newest
/// first, bounded to what one ack can report. Tells duplicates apart and feeds the ack frame.
/// </summary>
public sealed class ReceivedRanges
{
    private const int MaxHeld = AckFrame.MaxRanges + 1;
    // Newest first; [i] = (smallest, largest).
    private readonly ulong[] _lo = new ulong[MaxHeld];
    private readonly ulong[] _hi = new ulong[MaxHeld];

    public int Count { get; private set; }

    public ulong Largest => Count > 0 ? _hi[0] : 0;

    public bool IsEmpty => Count == 0;

    /// <summary>Records a packet number; false when it was already recorded (a duplicate) or too old to tell.</summary>
    public bool Add(ulong pn)
    {
        if (Count == 0)
        {
            _lo[0] = _hi[0] = pn;
            Count = 1;
            return true;
        }
        if (pn < _lo[Count - 1] && Count == MaxHeld)
        {
            return false; // older than anything we can still report: treat as duplicate.
        }
        for (var i = 0; i < Count; i++)
        {
            if (pn > _hi[i])
            {
                if (pn == _hi[i] + 1)
                {
                    _hi[i] = pn;
                    MergeDown(i - 1);
                }
                else
                {
                    Insert(i, pn);
                }
                return true;
            }
            if (pn >= _lo[i])
            {
                return false;
            }
            if (pn == _lo[i] - 1)
            {
                _lo[i] = pn;
                if (i + 1 < Count && _hi[i + 1] + 1 == pn)
                {
                    MergeDown(i);
                }
                return true;
            }
        }
        if (Count < MaxHeld)
        {
            Insert(Count, pn);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Every packet number from <paramref name="from"/> to <paramref name="to"/> was recorded (true when the span is
    /// empty). False when some were not, or are too old to tell.
    /// </summary>
    public bool AllReceived(ulong from, ulong to)
    {
        if (from > to)
        {
            return true;
        }
        for (var i = 0; i < Count; i++)
        {
            if (_hi[i] >= to)
            {
                if (_lo[i] <= from)
                {
                    return true;
                }
            }
            else
            {
                return false; // ranges are newest first: none further on reaches to
            }
        }
        return false;
    }

    /// <summary>Copies the ranges, newest first, into <paramref name="destination"/>; returns how many.</summary>
    public int CopyTo(Span<AckRange> destination)
    {
        var n = Math.Min(Count, destination.Length);
        for (var i = 0; i < n; i++)
        {
            destination[i] = new AckRange(_lo[i], _hi[i]);
        }
        return n;
    }

    public void Clear() => Count = 0;

    // Range i+1 (older) touches range i: join them.
    private void MergeDown(int i)
    {
        if (i < 0 || i + 1 >= Count || _hi[i + 1] + 1 < _lo[i])
        {
            return;
        }
        _lo[i] = _lo[i + 1];
        for (var j = i + 1; j < Count - 1; j++)
        {
            _lo[j] = _lo[j + 1];
            _hi[j] = _hi[j + 1];
        }
        Count--;
    }

    private void Insert(int at, ulong pn)
    {
        var last = Math.Min(Count, MaxHeld - 1); // drop the oldest range when full
        for (var j = last; j > at; j--)
        {
            _lo[j] = _lo[j - 1];
            _hi[j] = _hi[j - 1];
        }
        _lo[at] = _hi[at] = pn;
        Count = last + 1;
    }
}
