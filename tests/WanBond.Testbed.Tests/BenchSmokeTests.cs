using System.Text.Json;
using WanBond.Testbed.Bench;
using WanBond.Testbed.Topology;
using Xunit.Abstractions;

namespace WanBond.Testbed.Tests;

/// <summary>
/// The benchmark's CI-sized smoke run, as a separate process exactly as bench/run starts it: every
/// available system (single links, kernel MPTCP, wanbond once its daemons exist) must move data, and
/// every JSON record must carry every field. Needs root; skips with the reason otherwise.
/// </summary>
public class BenchSmokeTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Smoke_run_moves_data_on_every_available_system()
    {
        string? why = Namespaces.Unavailable();
        foreach (var tool in new[] { "iperf3", "ping", "ss" })
        {
            why ??= Shell.Exists(tool) ? null : $"needs '{tool}' (apt-get install iperf3 iputils-ping iproute2)";
        }
        Skip.If(why is not null, why);

        string dir = Directory.CreateTempSubdirectory("wbt-smoke-").FullName;
        string json = Path.Combine(dir, "smoke.json");
        string prefix = Namespaces.NewPrefix();
        string stderrText = "";
        try
        {
            var (code, stdout, stderr) = Shell.Capture(EmulatorProcess.SelfCommand()[0],
                [.. EmulatorProcess.SelfCommand().Skip(1), "bench", "--smoke", "--duration", "5", "--wanbond-schedulers", "adaptive,minrtt", "--prefix", prefix, "--out", dir, "--json", json],
                TimeSpan.FromSeconds(170));
            output.WriteLine(stdout);
            output.WriteLine(stderr);
            stderrText = stderr;
            Assert.True(code == 0, $"bench --smoke exited {code}: {stderr}");
        }
        catch
        {
            Namespaces.DeleteAll(prefix);
            throw;
        }

        // Every transfer began the same time after its emulators started their traces, whatever its system's set-up took.
        var offsets = System.Text.RegularExpressions.Regex.Matches(stderrText, @"rep \d+/\d+: .* from (\d+\.\d+) s into the traces")
            .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(offsets.Count >= 3, $"a trace offset per transfer: {stderrText}");
        Assert.All(offsets, o => Assert.True(o >= Measurer.TraceLeadS - 0.05, $"a transfer began {o} s into the traces, before the lead"));
        // A system not ready within the lead (a loaded machine) is run anyway, but never silently.
        int late = offsets.Count(o => o > Measurer.TraceLeadS + Measurer.LateAfterLeadS);
        Assert.Equal(late, System.Text.RegularExpressions.Regex.Count(stderrText, "was ready only .* into the traces"));

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var records = doc.RootElement.GetProperty("records").EnumerateArray().ToList();
        Assert.Contains(records, r => r.GetProperty("system").GetString() == "link0");
        Assert.Contains(records, r => r.GetProperty("system").GetString() == "link1");
        // One run measures wanbond once per scheduler, on the same topology.
        Assert.Contains(records, r => r.GetProperty("system").GetString() == "wanbond");
        Assert.Contains(records, r => r.GetProperty("system").GetString() == "wanbond:minrtt");
        foreach (var r in records)
        {
            foreach (var field in BenchRecord.RequiredFields)
            {
                Assert.True(r.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null, $"{field} in {r}");
            }
            Assert.True(r.GetProperty("goodput_mbps").GetDouble() > 0, r.ToString());
            Assert.True(File.Exists(r.GetProperty("plot").GetString()), "plot written");
        }
        Assert.DoesNotContain(prefix + "-", Shell.Run("ip", ["netns", "list"]), StringComparison.Ordinal); // the run removed its namespaces itself

        // scripts/bench-parity.sh (docs/testbed.md, "What matching MPTCP would take") reads this JSON: one row
        // for the smoke scenario, with a number in every column, when MPTCP was measured too.
        if (records.Any(r => r.GetProperty("system").GetString() == "mptcp"))
        {
            var (pc, pout, perr) = Shell.Capture("bash", [Path.Combine(RepoPaths.Root(), "scripts", "bench-parity.sh"), json], TimeSpan.FromSeconds(60));
            Assert.True(pc == 0, $"bench-parity.sh exited {pc}: {perr}");
            var rows = pout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(2).ToList();
            var row = Assert.Single(rows);
            var cells = row.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            Assert.Equal(6, cells.Length);
            Assert.StartsWith(records[0].GetProperty("scenario").GetString() + ", cubic, down, 1", cells[0], StringComparison.Ordinal);
            Assert.Equal(3, cells[1].Split(" / ").Count(x => double.TryParse(x, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0));
            Assert.All(cells[2..], c => Assert.True(double.TryParse(c.Trim('*'), System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0, row));
        }
    }
}
