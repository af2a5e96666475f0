using System.Globalization;

namespace WanBond.Sim;

/// <summary>
/// A Mahimahi packet-delivery trace: each line is a millisecond timestamp standing for one
/// opportunity to deliver <see cref="OpportunityBytes"/> bytes. The file repeats, shifted by
/// its last timestamp (the period).
/// </summary>
public sealed class MahimahiTrace
{
    public const int OpportunityBytes = 1500;

    private readonly long[] _timesUs;

    private MahimahiTrace(string name, long[] timesUs, long periodUs)
    {
        Name = name;
        _timesUs = timesUs;
        PeriodUs = periodUs;
    }

    public string Name { get; }

    /// <summary>Opportunities in one period.</summary>
    public int Count => _timesUs.Length;

    /// <summary>The last timestamp, after which the trace repeats, µs.</summary>
    public long PeriodUs { get; }

    /// <summary>Mean capacity over one period, bits per second.</summary>
    public double MeanBitsPerSecond => (double)Count * OpportunityBytes * 8 * 1_000_000 / PeriodUs;

    /// <summary>Time of opportunity <paramref name="index"/> within a period, µs.</summary>
    public long TimeInPeriodUs(int index) => _timesUs[index];

    public static MahimahiTrace Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SimUsageException($"trace {path}: cannot read: {e.Message}", e);
        }
        return Parse(path, text);
    }

    /// <summary>Parses trace text; <paramref name="name"/> only names the source in errors.</summary>
    public static MahimahiTrace Parse(string name, string text)
    {
        var times = new List<long>();
        long previous = -1;
        int lineNo = 0;
        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            lineNo++;
            var line = rawLine.Trim();
            if (line.IsEmpty)
            {
                continue;
            }
            if (!long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) || ms > int.MaxValue)
            {
                throw new SimUsageException($"trace {name} line {lineNo}: expected a whole number of milliseconds, got '{Clip(line)}'");
            }
            if (ms < previous)
            {
                throw new SimUsageException($"trace {name} line {lineNo}: timestamps must not decrease ({ms} after {previous})");
            }
            previous = ms;
            times.Add(ms * 1000);
        }
        if (times.Count == 0)
        {
            throw new SimUsageException($"trace {name}: empty, expected one millisecond timestamp per line");
        }
        if (previous <= 0)
        {
            throw new SimUsageException($"trace {name}: last timestamp must be greater than 0 (it is the repeat period)");
        }
        return new MahimahiTrace(name, times.ToArray(), previous * 1000);
    }

    /// <summary>
    /// The sum of several traces: every opportunity of each, over the longest one's period (the
    /// shorter ones repeat within it). The ideal aggregate link of a bond: exact for runs no longer
    /// than that period; after it the sum repeats, where the shorter traces would not line up again.
    /// </summary>
    public static MahimahiTrace Sum(IReadOnlyList<MahimahiTrace> parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts.Count, 1);
        long period = parts.Max(p => p.PeriodUs);
        var times = new List<long>();
        foreach (var p in parts)
        {
            // A part's cycle starting exactly at the period is the sum's own next cycle: its opportunities at
            // time 0 come back there, so they are not counted twice.
            for (long start = 0; start < period; start += p.PeriodUs)
            {
                foreach (long ts in p._timesUs)
                {
                    if (start + ts > period)
                    {
                        break;
                    }
                    times.Add(start + ts);
                }
            }
        }
        times.Sort();
        return new MahimahiTrace(string.Join('+', parts.Select(p => System.IO.Path.GetFileName(p.Name))), times.ToArray(), period);
    }

    /// <summary>Number of opportunities with a time strictly before <paramref name="timeUs"/> (from 0).</summary>
    public long CountBefore(long timeUs)
    {
        if (timeUs <= 0)
        {
            return 0;
        }
        // Period c holds c·P + ts for ts in [0, P]: its last opportunities (ts = P) fall on the start of
        // period c + 1, so period c - 1 is only partly before c·P + rem when rem = 0.
        long cycle = timeUs / PeriodUs;
        long rem = timeUs - (cycle * PeriodUs);
        return cycle == 0 ? LowerBound(rem) : ((cycle - 1) * Count) + LowerBound(PeriodUs + rem) + LowerBound(rem);
    }

    /// <summary>Opportunities in [fromUs, toUs).</summary>
    public long CountBetween(long fromUs, long toUs) => toUs <= fromUs ? 0 : CountBefore(toUs) - CountBefore(fromUs);

    /// <summary>The cursor (cycle, index) of the first opportunity at or after <paramref name="timeUs"/>.</summary>
    public (long Cycle, int Index) FirstAtOrAfter(long timeUs)
    {
        long t = Math.Max(0, timeUs);
        long cycle = t / PeriodUs;
        long rem = t - (cycle * PeriodUs);
        if (cycle > 0)
        {
            int last = LowerBound(PeriodUs + rem); // opportunities of the previous period at ts = P
            if (last < Count)
            {
                return (cycle - 1, last);
            }
        }
        int idx = LowerBound(rem);
        return idx == Count ? (cycle + 1, 0) : (cycle, idx);
    }

    /// <summary>First index whose time is ≥ <paramref name="timeInPeriodUs"/>.</summary>
    private int LowerBound(long timeInPeriodUs)
    {
        int lo = 0;
        int hi = _timesUs.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_timesUs[mid] < timeInPeriodUs)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    private static string Clip(ReadOnlySpan<char> s) => s.Length <= 20 ? s.ToString() : string.Concat(s[..20], "...");
}
