using System.Globalization;
using System.Text;
using WanBond.Sim;

namespace WanBond.Testbed.Emulation;

/// <summary>
/// Names a trace on the command line or in a scenario: a Mahimahi file path, the name of a
/// bundled trace (the repository's traces/, copied next to the binary), or <c>const:MBIT</c>
/// for a constant rate (an exact serialiser, like the simulator's <c>--link-rate</c>: a Mahimahi
/// trace would add up to 1 ms of waiting for the next whole-millisecond opportunity).
/// </summary>
internal static class TraceSpec
{
    public static LinkCapacity Load(string spec)
    {
        if (spec.StartsWith("const:", StringComparison.Ordinal))
        {
            string rate = spec["const:".Length..];
            if (!double.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out double mbps) || mbps <= 0 || mbps > 100_000)
            {
                throw new SimUsageException($"trace '{spec}': expected const:MBIT with a rate in (0, 100000] Mbit/s");
            }
            return LinkCapacity.FromRate(spec, mbps * 1e6);
        }
        return LinkCapacity.FromTrace(MahimahiTrace.Load(Resolve(spec)));
    }

    /// <summary>A path as given if it exists, else a bundled trace of that name.</summary>
    public static string Resolve(string spec)
    {
        if (File.Exists(spec))
        {
            return spec;
        }
        foreach (var dir in BundledDirectories())
        {
            string candidate = Path.Combine(dir, spec);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return spec; // MahimahiTrace.Load names the missing file
    }

    /// <summary>Where bundled traces live: next to the binary, then the repository's traces/ above it.</summary>
    public static IEnumerable<string> BundledDirectories()
    {
        yield return Path.Combine(AppContext.BaseDirectory, "traces");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string t = Path.Combine(dir.FullName, "traces");
            if (File.Exists(Path.Combine(t, "README.md")) && Directory.Exists(Path.Combine(dir.FullName, "src")))
            {
                yield return t;
                yield break;
            }
        }
    }

    /// <summary>A constant rate as a one-second Mahimahi trace (for tests of the trace model) of evenly spread opportunities (rate rounded to 12 kbit/s).</summary>
    public static MahimahiTrace Constant(double mbps)
    {
        long perSecond = Math.Max(1, (long)Math.Round(mbps * 1e6 / (MahimahiTrace.OpportunityBytes * 8)));
        var text = new StringBuilder();
        for (long i = 0; i < perSecond; i++)
        {
            long ms = ((i + 1) * 1000 + perSecond - 1) / perSecond;
            text.Append(ms.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return MahimahiTrace.Parse($"trace-const:{mbps.ToString(CultureInfo.InvariantCulture)}", text.ToString());
    }
}

/// <summary>What serves a link direction: a Mahimahi trace, or a constant rate.</summary>
internal sealed class LinkCapacity
{
    private LinkCapacity(string name, MahimahiTrace? trace, double bitsPerSecond)
    {
        Name = name;
        Trace = trace;
        MeanBitsPerSecond = bitsPerSecond;
    }

    public string Name { get; }

    /// <summary>Null for a constant rate.</summary>
    public MahimahiTrace? Trace { get; }

    public double MeanBitsPerSecond { get; }

    public static LinkCapacity FromTrace(MahimahiTrace trace) => new(trace.Name, trace, trace.MeanBitsPerSecond);

    public static LinkCapacity FromRate(string name, double bitsPerSecond) => new(name, null, bitsPerSecond);

    /// <summary>What the link could carry in [fromUs, toUs) from its start, bytes.</summary>
    public double BytesBetween(long fromUs, long toUs) =>
        Trace is { } t ? (double)t.CountBetween(fromUs, toUs) * MahimahiTrace.OpportunityBytes : MeanBitsPerSecond / 8 * (toUs - fromUs) / 1e6;
}
