using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using WanBond.Testbed.Topology;

namespace WanBond.Testbed.Bench;

/// <summary>
/// <c>wanbond-testbed bench</c>: builds client — router — N emulated links — proxy — server in fresh
/// namespaces per scenario, measures every system under every condition, and writes the Markdown
/// table, JSON and plots. Every namespace is removed at the end, on failure and on SIGINT/SIGTERM.
/// </summary>
internal static class BenchCommand
{
    public const string Usage = """
        wanbond-testbed bench [--scenario FILE]... [--link PAIR,DELAY_MS[,QUEUE_MS[,LOSS]]]... [--name NAME]
                              [--systems single,mptcp,wanbond] [--wanbond-schedulers adaptive,...] [--wanbond PATH]
                              [--cc cubic,bbr] [--direction down,up] [--flows 1,4] [--duration S] [--reps N]
                              [--out DIR] [--json FILE] [--prefix P] [--no-plots] [--smoke]
          Scenarios: YAML files (bench/scenarios/*.yml by default) or --link for one ad-hoc scenario
          (PAIR: bundled pair name, path prefix X for X.up/X.down, or UP+DOWN; delay one-way ms).
          single = each link alone (TCP, no tunnel); mptcp = kernel MPTCP over every link (mptcpize iperf3);
          wanbond = issue 3's router and proxy daemons (reported "not yet available" until they exist).
          --smoke: CI-sized (first scenario, cubic, down, 1 flow, 8 s, 1 rep); exits 1 unless every available
          system moved data and every JSON record has every field.
          Must run as root. Namespaces are named PREFIX-role (default prefix: wbt + 4 random hex digits).
        """;

    private static readonly string[] Valued =
        ["--scenario", "--link", "--name", "--systems", "--wanbond-schedulers", "--wanbond", "--cc", "--direction", "--flows", "--duration", "--reps", "--out", "--json", "--prefix", "--seed"];

    public static int Run(IReadOnlyList<string> args)
    {
        var o = new Options(args, Valued, ["--help", "--no-plots", "--smoke"]);
        if (o.Flag("--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        bool smoke = o.Flag("--smoke");
        var scenarios = LoadScenarios(o, smoke);
        var systemsWanted = o.List("--systems", "single,mptcp,wanbond", ["single", "mptcp", "wanbond"]);
        var ccs = o.List("--cc", smoke ? "cubic" : "cubic,bbr", ["cubic", "bbr", "reno"]);
        var dirs = o.List("--direction", smoke ? "down" : "down,up", ["down", "up"]);
        var flows = o.List("--flows", smoke ? "1" : "1,4", ["1", "2", "4", "8"]).Select(f => int.Parse(f, CultureInfo.InvariantCulture)).ToList();
        double duration = o.Double("--duration", smoke ? 8 : 30, 2, 3600);
        int reps = (int)o.Long("--reps", 1, 1, 100);
        ulong seed = (ulong)o.Long("--seed", 1, 0, long.MaxValue);
        string outDir = Path.GetFullPath(o.String("--out") ?? Path.Combine(Path.GetTempPath(), "wanbond-bench", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        string? jsonPath = o.String("--json");
        string prefix = o.String("--prefix") ?? Namespaces.NewPrefix();
        if (prefix.Length > 8 || !prefix.All(char.IsAsciiLetterOrDigit))
        {
            throw new UsageException("--prefix: at most 8 letters or digits (it is part of interface names)");
        }
        if (Namespaces.Unavailable() is { } why)
        {
            Console.Error.WriteLine($"bench: {why}");
            return 2;
        }
        foreach (var tool in new[] { "iperf3", "ping", "ss" })
        {
            if (!Shell.Exists(tool))
            {
                Console.Error.WriteLine($"bench: needs '{tool}' (apt-get install iperf3 iputils-ping iproute2)");
                return 2;
            }
        }
        Directory.CreateDirectory(outDir);

        var wanbond = o.List("--wanbond-schedulers", "adaptive", ["adaptive", "weighted", "minrtt", "roundrobin"])
            .Select(s => new WanbondSystem(s, o.String("--wanbond"), outDir)).ToList();
        var unavailable = new List<(string, string)>();
        IBenchSystem mptcp = new MptcpSystem();
        var fixedSystems = new List<IBenchSystem>();
        if (systemsWanted.Contains("mptcp"))
        {
            fixedSystems.Add(mptcp);
        }
        if (systemsWanted.Contains("wanbond"))
        {
            fixedSystems.AddRange(wanbond);
        }
        foreach (var s in fixedSystems.ToList())
        {
            if (s.Unavailable is { } reason)
            {
                Console.Error.WriteLine($"bench: {s.Name}: {reason}");
                unavailable.Add((s.Name, reason));
                fixedSystems.Remove(s);
            }
        }

        int perCondition = scenarios.Sum(sc => (systemsWanted.Contains("single") ? sc.Links.Count : 0) + fixedSystems.Count);
        int measurements = perCondition * ccs.Count * dirs.Count * flows.Count * reps;
        double estimateS = measurements * (duration + 6) + (scenarios.Count * 5);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench: {measurements} transfers of {duration} s, about {estimateS / 60:F1} min; namespaces {prefix}-*; results in {outDir}"));

        using var sigInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Shell.Abort(); });
        using var sigTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Shell.Abort(); });
        // A hung step must not hold the machine: past twice the estimate, everything is aborted and torn down.
        using var watchdog = new Timer(_ => { Console.Error.WriteLine("bench: over time, aborting"); Shell.Abort(); }, null, TimeSpan.FromSeconds((estimateS * 2) + 120), Timeout.InfiniteTimeSpan);

        var records = new List<BenchRecord>();
        var failures = new List<string>();
        try
        {
            foreach (var scenario in scenarios)
            {
                RunScenario(scenario, prefix, systemsWanted.Contains("single"), fixedSystems, ccs, dirs, flows, duration, reps, seed, outDir, !o.Flag("--no-plots"), records, failures);
            }
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("bench: aborted; namespaces removed");
            return 130;
        }
        finally
        {
            Namespaces.DeleteAll(prefix);
        }

        var byName = scenarios.ToDictionary(s => s.Name);
        string markdown = Report.Markdown(records, unavailable, byName);
        foreach (var f in failures)
        {
            markdown += $"- failed: {f}\n";
        }
        string json = Report.Json(records, unavailable, duration, reps);
        File.WriteAllText(Path.Combine(outDir, "results.md"), markdown);
        File.WriteAllText(Path.Combine(outDir, "results.json"), json);
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, json);
        }
        Console.WriteLine(markdown);
        Console.Error.WriteLine($"bench: table {Path.Combine(outDir, "results.md")}, JSON {jsonPath ?? Path.Combine(outDir, "results.json")}, plots and raw data in {outDir}");
        if (Shell.Aborted.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench: aborted; the results above are partial; namespaces removed");
            return 130;
        }
        if (smoke)
        {
            return SmokeCheck(json, failures, fixedSystems, systemsWanted.Contains("single"));
        }
        return failures.Count == 0 ? 0 : 1;
    }

    private static void RunScenario(Scenario scenario, string prefix, bool singles, List<IBenchSystem> fixedSystems,
        List<string> ccs, List<string> dirs, List<int> flows, double duration, int reps, ulong seed, string outDir, bool plots,
        List<BenchRecord> records, List<string> failures)
    {
        var systems = new List<IBenchSystem>();
        if (singles)
        {
            systems.AddRange(Enumerable.Range(0, scenario.Links.Count).Select(i => new SingleLinkSystem(i)));
        }
        systems.AddRange(fixedSystems);
        using var ns = new Namespaces(prefix);
        using var topo = BenchTopology.Create(ns, scenario.Links.Count);
        foreach (var s in systems)
        {
            s.Prepare(topo);
        }
        foreach (var cc in ccs)
        {
            foreach (var dir in dirs)
            {
                foreach (int f in flows)
                {
                    var c = new Conditions(cc, dir, f, duration);
                    var results = new List<(IBenchSystem System, List<Measurement> Reps)>();
                    foreach (var s in systems)
                    {
                        var list = new List<Measurement>();
                        for (int rep = 0; rep < reps; rep++)
                        {
                            Shell.Aborted.ThrowIfCancellationRequested();
                            string raw = Path.Combine(outDir, "raw", Safe($"{scenario.Name}_{s.Name}_{c.Label}_r{rep}"));
                            try
                            {
                                var m = Measurer.Run(topo, scenario, s, c, rep, raw, seed + (ulong)(rep * 1000));
                                list.Add(m);
                                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                    $"bench: {scenario.Name} {c.Label} {s.Name} rep {rep + 1}/{reps}: {m.GoodputMbps:F2} Mbit/s of {m.CapacityMbps:F2}, {m.Rtt.Count} probes, from {m.TraceOffsetS:F2} s into the traces"));
                            }
                            catch (CommandException e)
                            {
                                string msg = $"{scenario.Name} {c.Label} {s.Name} rep {rep + 1}: {e.Message}";
                                failures.Add(msg);
                                Console.Error.WriteLine($"bench: FAILED {msg}");
                            }
                        }
                        if (list.Count > 0)
                        {
                            results.Add((s, list));
                        }
                    }
                    double singleSum = results.Where(r => r.System is SingleLinkSystem).Sum(r => BenchRecord.Median(r.Reps.Select(m => m.GoodputMbps)));
                    foreach (var (s, list) in results)
                    {
                        string? plot = null;
                        if (plots)
                        {
                            plot = Path.Combine(outDir, Safe($"{scenario.Name}_{s.Name}_{c.Label}") + ".png");
                            Plots.Save(list[0], plot);
                        }
                        records.Add(BenchRecord.From(list, singleSum, plot));
                    }
                }
            }
        }
    }

    private static int SmokeCheck(string json, List<string> failures, List<IBenchSystem> available, bool singles)
    {
        var problems = new List<string>(failures);
        using var doc = JsonDocument.Parse(json);
        var recs = doc.RootElement.GetProperty("records").EnumerateArray().ToList();
        foreach (var r in recs)
        {
            string system = r.TryGetProperty("system", out var sy) ? sy.GetString() ?? "?" : "?";
            foreach (var field in BenchRecord.RequiredFields)
            {
                if (!r.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
                {
                    problems.Add($"{system}: field '{field}' missing or null");
                }
            }
            if (r.TryGetProperty("goodput_mbps", out var g) && g.ValueKind == JsonValueKind.Number && g.GetDouble() <= 0)
            {
                problems.Add($"{system}: moved no data");
            }
        }
        foreach (var s in available.Select(s => s.Name).Concat(singles ? ["link0"] : []))
        {
            if (!recs.Any(r => r.GetProperty("system").GetString() == s))
            {
                problems.Add($"{s}: no record");
            }
        }
        foreach (var p in problems)
        {
            Console.Error.WriteLine($"smoke: {p}");
        }
        Console.Error.WriteLine(problems.Count == 0 ? $"smoke: ok, {recs.Count} records, every available system moved data" : $"smoke: {problems.Count} problem(s)");
        return problems.Count == 0 ? 0 : 1;
    }

    private static List<Scenario> LoadScenarios(Options o, bool smoke)
    {
        var list = o.All("--scenario").Select(Scenario.Load).ToList();
        if (o.All("--link").Count > 0)
        {
            list.Add(new Scenario(o.String("--name") ?? "cli", o.All("--link").Select(Scenario.ParseLink).ToList()));
        }
        if (list.Count == 0)
        {
            string dir = ScenarioDirectory() ?? throw new UsageException("no --scenario or --link given, and bench/scenarios/ was not found");
            list = Directory.GetFiles(dir, "*.yml").Order(StringComparer.Ordinal).Select(Scenario.Load).ToList();
            if (smoke)
            {
                list = list.Take(1).ToList();
            }
        }
        if (list.Select(s => s.Name).Distinct().Count() != list.Count)
        {
            throw new UsageException("scenario names must be unique");
        }
        return list;
    }

    private static string? ScenarioDirectory()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "bench", "scenarios");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static string Safe(string s) => string.Concat(s.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '-'));
}
