using System.Globalization;
using WanBond.Core.Sessions;

namespace WanBond.Sim;

/// <summary>The `wanbond sim` flags as the user typed them (strings), before validation.</summary>
public sealed class SimArguments
{
    public IReadOnlyList<string> Links { get; init; } = [];

    public IReadOnlyList<string> LinkRates { get; init; } = [];

    public IReadOnlyList<string> Cuts { get; init; } = [];

    public string? Workload { get; init; }

    public string? Direction { get; init; }

    public string? Scheduler { get; init; }

    public string? CongestionControl { get; init; }

    public string? Duration { get; init; }

    public string? Seed { get; init; }

    public string? Timeline { get; init; }

    public string? StartJitter { get; init; }

    public bool HyStart { get; init; }

    public bool NoTunnel { get; init; }

    public string? Backlog { get; init; }
}

/// <summary>
/// Turns <see cref="SimArguments"/> into a <see cref="Scenario"/>, or throws a
/// <see cref="SimUsageException"/> whose one-line message names the flag and what was expected.
/// Path ids: the --link links first, then the --link-rate links, each in the order given.
/// </summary>
public sealed class ScenarioParser
{
    private readonly Dictionary<string, MahimahiTrace> _cache = new(StringComparer.Ordinal);
    private readonly string _bundledDir;

    /// <param name="bundledTraceDir">Folder of bundled traces (default: traces/ next to the binary).</param>
    public ScenarioParser(string? bundledTraceDir = null)
    {
        _bundledDir = bundledTraceDir ?? System.IO.Path.Combine(AppContext.BaseDirectory, "traces");
    }

    public Scenario Parse(SimArguments a)
    {
        var links = new List<LinkSpec>();
        foreach (var l in a.Links)
        {
            links.Add(ParseTraceLink(l));
        }
        foreach (var l in a.LinkRates)
        {
            links.Add(ParseRateLink(l));
        }
        if (links.Count == 0)
        {
            throw new SimUsageException("--link / --link-rate: at least one link is required (e.g. --link-rate 20,30)");
        }
        if (links.Count > 16)
        {
            throw new SimUsageException($"--link / --link-rate: at most 16 links, got {links.Count}");
        }
        if (a.NoTunnel && links.Count != 1)
        {
            throw new SimUsageException($"--no-tunnel: runs over exactly one link, got {links.Count}");
        }
        double duration = a.Duration is null ? 30 : Number("--duration", a.Duration, "seconds > 0 and ≤ 86400", v => v > 0 && v <= 86400);
        var cuts = new List<CutSpec>();
        foreach (var c in a.Cuts)
        {
            cuts.Add(ParseCut(c, links.Count));
        }
        var workload = ParseWorkload(a.Workload ?? "bulk");
        if (a.Backlog is not null && workload.Kind != WorkloadKind.Bulk)
        {
            throw new SimUsageException($"--backlog: applies to --workload bulk only, not {workload}");
        }
        return new Scenario
        {
            Links = links,
            Workload = workload,
            BacklogPackets = a.Backlog is null ? Scenario.DefaultBacklogPackets : (int)Number("--backlog", a.Backlog, "a whole number of packets, 1 to 10000", v => v >= 1 && v <= 10_000 && v == Math.Floor(v)),
            Direction = ParseDirection(a.Direction ?? "down"),
            Scheduler = ParseScheduler(a.Scheduler ?? "adaptive"),
            CongestionControl = ParseCongestionControl(a.CongestionControl ?? "delay"),
            DurationS = duration,
            Seed = ParseSeed(a.Seed),
            Cuts = cuts,
            TimelineMs = a.Timeline is null ? 0 : (int)Number("--timeline", a.Timeline, "a whole number of milliseconds, 1 to 60000", v => v >= 1 && v <= 60000 && v == Math.Floor(v)),
            NoTunnel = a.NoTunnel,
            HyStart = a.HyStart,
            StartJitterMs = a.StartJitter is null ? 0 : (int)Number("--start-jitter", a.StartJitter, "a whole number of milliseconds, 0 to 60000", v => v >= 0 && v <= 60000 && v == Math.Floor(v)),
        };
    }

    public static WorkloadSpec ParseWorkload(string s)
    {
        const string Expected = "bulk, cbr:MBIT or tcp:N";
        if (s == "bulk")
        {
            return new WorkloadSpec(WorkloadKind.Bulk);
        }
        if (s.StartsWith("cbr:", StringComparison.Ordinal))
        {
            double mbit = Number("--workload", s[4..], "cbr:MBIT with MBIT a number > 0 and ≤ 10000", v => v > 0 && v <= 10_000, s);
            return new WorkloadSpec(WorkloadKind.Cbr, CbrMbps: mbit);
        }
        if (s.StartsWith("tcp:", StringComparison.Ordinal))
        {
            double n = Number("--workload", s[4..], "tcp:N with N a whole number 1 to 64", v => v >= 1 && v <= 64 && v == Math.Floor(v), s);
            return new WorkloadSpec(WorkloadKind.Tcp, TcpFlows: (int)n);
        }
        throw new SimUsageException($"--workload: expected {Expected}, got '{s}'");
    }

    public static DataDirection ParseDirection(string s) => s switch
    {
        "down" => DataDirection.Down,
        "up" => DataDirection.Up,
        _ => throw new SimUsageException($"--direction: expected down or up, got '{s}'"),
    };

    public static CongestionControlKind ParseCongestionControl(string s) => s switch
    {
        "delay" => CongestionControlKind.Delay,
        "reno" => CongestionControlKind.Reno,
        _ => throw new SimUsageException($"--cc: expected delay or reno, got '{s}'"),
    };

    public static SchedulerKind ParseScheduler(string s) => s switch
    {
        "adaptive" => SchedulerKind.Adaptive,
        "roundrobin" => SchedulerKind.RoundRobin,
        "weighted" => SchedulerKind.Weighted,
        "minrtt" => SchedulerKind.MinRtt,
        _ => throw new SimUsageException($"--scheduler: expected adaptive, roundrobin, weighted or minrtt, got '{s}'"),
    };

    private static ulong ParseSeed(string? s)
    {
        if (s is null)
        {
            return 1;
        }
        if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
        {
            throw new SimUsageException($"--seed: expected a whole number 0 to {ulong.MaxValue}, got '{s}'");
        }
        return seed;
    }

    private LinkSpec ParseTraceLink(string spec)
    {
        var f = spec.Split(',');
        // A bundled pair name stands for NAME.up and NAME.down: NAME,DELAY_MS[,QUEUE_MS[,LOSS]].
        if (f.Length is >= 2 and <= 4 && IsNumber(f[1]) && TryResolvePair(f[0], spec, out var up, out var down))
        {
            return BuildLink("--link", spec, up, down, 0, f.AsSpan(1));
        }
        if (f.Length is < 3 or > 5)
        {
            throw new SimUsageException($"--link '{spec}': expected UP_TRACE,DOWN_TRACE,DELAY_MS[,QUEUE_MS[,LOSS]]");
        }
        return BuildLink("--link", spec, LoadTrace(f[0], spec), LoadTrace(f[1], spec), 0, f.AsSpan(2));
    }

    private static LinkSpec ParseRateLink(string spec)
    {
        var f = spec.Split(',');
        if (f.Length is < 2 or > 4)
        {
            throw new SimUsageException($"--link-rate '{spec}': expected MBIT,DELAY_MS[,QUEUE_MS[,LOSS]]");
        }
        double rate = Number("--link-rate", f[0], "MBIT a number > 0 and ≤ 100000", v => v > 0 && v <= 100_000, spec);
        return BuildLink("--link-rate", spec, null, null, rate, f.AsSpan(1));
    }

    /// <summary>fields = DELAY_MS[,QUEUE_MS[,LOSS]].</summary>
    private static LinkSpec BuildLink(string flag, string spec, MahimahiTrace? up, MahimahiTrace? down, double rate, ReadOnlySpan<string> fields)
    {
        double delay = Number(flag, fields[0], "DELAY_MS a number ≥ 0 and ≤ 10000", v => v >= 0 && v <= 10_000, spec);
        double queue = fields.Length > 1 ? Number(flag, fields[1], "QUEUE_MS a number > 0 and ≤ 100000", v => v > 0 && v <= 100_000, spec) : 200;
        double loss = fields.Length > 2 ? Number(flag, fields[2], "LOSS a probability ≥ 0 and < 1", v => v >= 0 && v < 1, spec) : 0;
        return new LinkSpec(up, down, rate, delay, queue, loss);
    }

    private static CutSpec ParseCut(string spec, int linkCount)
    {
        int at = spec.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0)
        {
            throw new SimUsageException($"--cut '{spec}': expected LINK_INDEX@START_S[-END_S]");
        }
        double link = Number("--cut", spec[..at], $"LINK_INDEX a whole number 0 to {linkCount - 1}", v => v >= 0 && v < linkCount && v == Math.Floor(v), spec);
        string window = spec[(at + 1)..];
        int dash = window.IndexOf('-', StringComparison.Ordinal);
        string start = dash < 0 ? window : window[..dash];
        double s = Number("--cut", start, "START_S a number of seconds ≥ 0", v => v >= 0, spec);
        double e = dash < 0 ? double.PositiveInfinity : Number("--cut", window[(dash + 1)..], "END_S a number of seconds > START_S", v => v > s, spec);
        return new CutSpec((int)link, s, e);
    }

    private static bool IsNumber(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static double Number(string flag, string text, string expected, Func<double, bool> valid, string? spec = null)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || !valid(v))
        {
            string where = spec is null ? flag : $"{flag} '{spec}'";
            throw new SimUsageException($"{where}: expected {expected}, got '{text}'");
        }
        return v;
    }

    private bool TryResolvePair(string name, string spec, out MahimahiTrace up, out MahimahiTrace down)
    {
        up = null!;
        down = null!;
        if (File.Exists(name))
        {
            return false;
        }
        if (name.Contains('+', StringComparison.Ordinal))
        {
            // NAME+NAME…: the summed pairs, one link as fast as the bond of them could be.
            var ups = new List<MahimahiTrace>();
            var downs = new List<MahimahiTrace>();
            foreach (string part in name.Split('+'))
            {
                if (!TryResolvePair(part, spec, out var u, out var d))
                {
                    throw new SimUsageException($"--link '{spec}': '{part}' is not a trace pair (NAME.up and NAME.down, as a path or bundled in {_bundledDir})");
                }
                ups.Add(u);
                downs.Add(d);
            }
            up = MahimahiTrace.Sum(ups);
            down = MahimahiTrace.Sum(downs);
            return true;
        }
        foreach (var dir in new[] { "", _bundledDir })
        {
            string u = System.IO.Path.Combine(dir, name + ".up");
            string d = System.IO.Path.Combine(dir, name + ".down");
            if (File.Exists(u) && File.Exists(d))
            {
                up = Cached(u);
                down = Cached(d);
                return true;
            }
        }
        return false;
    }

    private MahimahiTrace LoadTrace(string name, string spec)
    {
        if (name.Length == 0)
        {
            throw new SimUsageException($"--link '{spec}': a trace file name is empty");
        }
        if (File.Exists(name))
        {
            return Cached(name);
        }
        if (name.Contains('+', StringComparison.Ordinal))
        {
            return MahimahiTrace.Sum(name.Split('+').Select(part => LoadTrace(part, spec)).ToList());
        }
        string bundled = System.IO.Path.Combine(_bundledDir, name);
        if (File.Exists(bundled))
        {
            return Cached(bundled);
        }
        throw new SimUsageException($"--link '{spec}': trace '{name}' not found (neither a file nor a bundled trace in {_bundledDir})");
    }

    private MahimahiTrace Cached(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!_cache.TryGetValue(full, out var t))
        {
            t = MahimahiTrace.Load(path);
            _cache[full] = t;
        }
        return t;
    }
}
