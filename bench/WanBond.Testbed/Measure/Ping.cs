using System.Globalization;
using System.Text.RegularExpressions;
using WanBond.Testbed.Topology;

namespace WanBond.Testbed.Measure;

/// <summary>One echo reply: when (Unix seconds, from ping -D) and its round-trip time.</summary>
internal readonly record struct RttSample(double UnixSeconds, double RttMs);

/// <summary>ping as a latency probe; its lines parsed into samples.</summary>
internal static partial class Ping
{
    /// <summary>A probe every <paramref name="intervalS"/> s for at most <paramref name="maxSeconds"/>.</summary>
    public static BackgroundProcess Start(Namespaces ns, string nsName, string target, double intervalS, double maxSeconds, string? sourceInterface = null)
    {
        List<string> cmd = ["ping", "-n", "-D", "-i", intervalS.ToString(CultureInfo.InvariantCulture), "-W", "5",
            "-w", Math.Ceiling(maxSeconds).ToString(CultureInfo.InvariantCulture)];
        if (sourceInterface is not null)
        {
            cmd.AddRange(["-I", sourceInterface]);
        }
        cmd.Add(target);
        return ns.Start(nsName, [.. cmd]);
    }

    /// <summary>Sends <paramref name="count"/> probes and waits for them.</summary>
    public static List<RttSample> Run(Namespaces ns, string nsName, string target, int count, double intervalS)
    {
        var (_, stdout, _) = Shell.Capture("ip",
            ["netns", "exec", nsName, "ping", "-n", "-D", "-c", count.ToString(CultureInfo.InvariantCulture),
             "-i", intervalS.ToString(CultureInfo.InvariantCulture), "-W", "5", target],
            TimeSpan.FromSeconds((count * intervalS) + 15));
        return Parse(stdout);
    }

    public static List<RttSample> Parse(string output)
    {
        var list = new List<RttSample>();
        foreach (Match m in Reply().Matches(output))
        {
            list.Add(new RttSample(
                double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
        }
        return list;
    }

    [GeneratedRegex(@"^\[(\d+\.\d+)\].*time=([\d.]+) ms", RegexOptions.Multiline)]
    private static partial Regex Reply();
}
