using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WanBond.Testbed.Bench;

/// <summary>One system × scenario × conditions: medians over repetitions.</summary>
internal sealed record BenchRecord(
    string System, string Scenario, Conditions Conditions, int Reps,
    double GoodputMbps, double CapacityMbps, double SingleSumMbps,
    double? RttP50Ms, double? RttP95Ms, double ProbeLoss,
    IReadOnlyList<double> GoodputPerRepMbps, IReadOnlyList<double> LinkCarriedMbps, IReadOnlyList<double> LinkCapacityMbps, string? Plot)
{
    public double? RatioToSingleSum => SingleSumMbps > 0 ? GoodputMbps / SingleSumMbps : null;

    public double? RatioToCapacity => CapacityMbps > 0 ? GoodputMbps / CapacityMbps : null;

    /// <summary>The fields every record must carry (the smoke run checks them).</summary>
    public static readonly string[] RequiredFields = ["system", "scenario", "goodput_mbps", "capacity_mbps", "single_sum_mbps", "rtt_p50_ms", "rtt_p95_ms"];

    public static BenchRecord From(IReadOnlyList<Measurement> reps, double singleSum, string? plot)
    {
        var first = reps[0];
        var p50s = new List<double>();
        var p95s = new List<double>();
        foreach (var m in reps)
        {
            if (m.Rtt.Count > 0)
            {
                var sorted = m.Rtt.Select(r => r.RttMs).Order().ToArray();
                p50s.Add(Percentile(sorted, 50));
                p95s.Add(Percentile(sorted, 95));
            }
        }
        int sent = reps.Sum(m => m.ProbesSent);
        int got = reps.Sum(m => m.Rtt.Count);
        int links = first.Links.Count;
        return new BenchRecord(first.System, first.Scenario, first.Conditions, reps.Count,
            Median(reps.Select(m => m.GoodputMbps)), Median(reps.Select(m => m.CapacityMbps)), singleSum,
            p50s.Count > 0 ? Median(p50s) : null, p95s.Count > 0 ? Median(p95s) : null,
            sent > 0 ? Math.Max(0, 1 - ((double)got / sent)) : 0,
            reps.Select(m => m.GoodputMbps).ToList(),
            Enumerable.Range(0, links).Select(i => Median(reps.Select(m => m.Links[i].MeanCarriedMbps))).ToList(),
            Enumerable.Range(0, links).Select(i => Median(reps.Select(m => m.Links[i].MeanCapacityMbps))).ToList(),
            plot);
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0)
        {
            return 0;
        }
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Nearest rank, as the simulator's metrics.</summary>
    public static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

internal static class Report
{
    public static string Markdown(IReadOnlyList<BenchRecord> records, IReadOnlyList<(string System, string Why)> unavailable, IReadOnlyDictionary<string, Scenario> scenarios)
    {
        var sb = new StringBuilder();
        foreach (var group in records.GroupBy(r => r.Scenario))
        {
            var sc = scenarios[group.Key];
            sb.Append(CultureInfo.InvariantCulture, $"### {group.Key}\n\n");
            for (int i = 0; i < sc.Links.Count; i++)
            {
                var l = sc.Links[i];
                sb.Append(CultureInfo.InvariantCulture, $"- link{i}: {Path.GetFileName(l.Up)} / {Path.GetFileName(l.Down)}, {l.DelayMs} ms one-way, queue {(l.QueueBytes > 0 ? $"{l.QueueBytes} B" : $"{l.QueueMs} ms")}, loss {l.Loss}\n");
            }
            sb.Append("\n| cc | dir | flows | system | goodput Mbit/s | ÷ Σ single | ÷ capacity | RTT p50 ms | RTT p95 ms | capacity Mbit/s | per link carried/capacity Mbit/s |\n");
            sb.Append("|---|---|---|---|---|---|---|---|---|---|---|\n");
            foreach (var r in group)
            {
                var c = r.Conditions;
                string perLink = string.Join(" · ", r.LinkCarriedMbps.Zip(r.LinkCapacityMbps).Select(p => $"{p.First:F1}/{p.Second:F1}"));
                sb.Append(CultureInfo.InvariantCulture,
                    $"| {c.Cc} | {c.Direction} | {c.Flows} | {r.System} | {r.GoodputMbps:F2} | {Fmt(r.RatioToSingleSum, "F2")} | {Fmt(r.RatioToCapacity, "F2")} | {Fmt(r.RttP50Ms, "F0")} | {Fmt(r.RttP95Ms, "F0")} | {r.CapacityMbps:F2} | {perLink} |\n");
            }
            sb.Append('\n');
        }
        foreach (var (system, why) in unavailable)
        {
            sb.Append(CultureInfo.InvariantCulture, $"- **{system}**: {why}\n");
        }
        return sb.ToString();
    }

    private static string Fmt(double? v, string f) => v is { } x ? x.ToString(f, CultureInfo.InvariantCulture) : "–";

    public static string Json(IReadOnlyList<BenchRecord> records, IReadOnlyList<(string System, string Why)> unavailable, double durationS, int reps)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("duration_s", durationS);
            w.WriteNumber("repetitions", reps);
            w.WriteStartArray("records");
            foreach (var r in records)
            {
                w.WriteStartObject();
                w.WriteString("system", r.System);
                w.WriteString("scenario", r.Scenario);
                w.WriteString("cc", r.Conditions.Cc);
                w.WriteString("direction", r.Conditions.Direction);
                w.WriteNumber("flows", r.Conditions.Flows);
                w.WriteNumber("goodput_mbps", Math.Round(r.GoodputMbps, 3));
                w.WriteNumber("capacity_mbps", Math.Round(r.CapacityMbps, 3));
                w.WriteNumber("single_sum_mbps", Math.Round(r.SingleSumMbps, 3));
                Nullable(w, "rtt_p50_ms", r.RttP50Ms, 1);
                Nullable(w, "rtt_p95_ms", r.RttP95Ms, 1);
                Nullable(w, "ratio_to_single_sum", r.RatioToSingleSum, 4);
                Nullable(w, "ratio_to_capacity", r.RatioToCapacity, 4);
                w.WriteNumber("probe_loss", Math.Round(r.ProbeLoss, 4));
                w.WriteNumber("repetitions", r.Reps);
                w.WriteStartArray("goodput_per_rep_mbps");
                foreach (var g in r.GoodputPerRepMbps)
                {
                    w.WriteNumberValue(Math.Round(g, 3));
                }
                w.WriteEndArray();
                w.WriteStartArray("links");
                for (int i = 0; i < r.LinkCarriedMbps.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteNumber("carried_mbps", Math.Round(r.LinkCarriedMbps[i], 3));
                    w.WriteNumber("capacity_mbps", Math.Round(r.LinkCapacityMbps[i], 3));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (r.Plot is not null)
                {
                    w.WriteString("plot", r.Plot);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("unavailable");
            foreach (var (system, why) in unavailable)
            {
                w.WriteStartObject();
                w.WriteString("system", system);
                w.WriteString("reason", why);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Nullable(Utf8JsonWriter w, string name, double? v, int digits)
    {
        if (v is { } x)
        {
            w.WriteNumber(name, Math.Round(x, digits));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
