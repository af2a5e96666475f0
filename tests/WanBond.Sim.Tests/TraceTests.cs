namespace WanBond.Sim.Tests;

public class TraceTests
{
    [Fact]
    public void Parses_timestamps_period_and_mean_rate()
    {
        var t = MahimahiTrace.Parse("t", "1\n1\n3\n");
        Assert.Equal(3, t.Count);
        Assert.Equal(3000, t.PeriodUs);
        // 3 opportunities × 1500 B × 8 bit per 3 ms = 12 Mbit/s
        Assert.Equal(12e6, t.MeanBitsPerSecond, 6);
    }

    [Fact]
    public void Repeats_shifted_by_the_last_timestamp()
    {
        var t = MahimahiTrace.Parse("t", "1\n1\n3\n");
        // Period 1: 1, 1, 3 ms; period 2: 4, 4, 6 ms; period 3: 7, 7, 9 ms.
        Assert.Equal(2, t.CountBefore(3000));
        Assert.Equal(3, t.CountBefore(3001));
        Assert.Equal(5, t.CountBefore(4001));
        Assert.Equal(9, t.CountBefore(10_000));
        Assert.Equal((1L, 0), t.FirstAtOrAfter(3500));
        Assert.Equal((1L, 2), t.FirstAtOrAfter(4001));
        Assert.Equal(4, t.CountBetween(3000, 7000)); // 3, 4, 4, 6
    }

    [Fact]
    public void Capacity_of_a_small_trace_matches_hand_computation()
    {
        using var dir = new TempDir();
        string f = dir.File("small", "1\n1\n3\n");
        var scenario = new ScenarioParser(dir.Path).Parse(new SimArguments { Links = [$"{f},{f},5"], Duration = "0.01", NoTunnel = true });
        var r = Simulation.Run(scenario);
        // Opportunities before 10 ms: 1,1,3,4,4,6,7,7,9 → 9 × 1500 B in 10 ms = 10.8 Mbit/s.
        Assert.Equal(10.8, r.CapacityMbps, 9);
        Assert.Equal(10.8, r.Paths[0].CapacityMbps, 9);
    }

    [Fact]
    public void Bundled_trace_has_the_documented_mean_rate()
    {
        var t = MahimahiTrace.Load(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "traces", "TMobile-LTE-short.down"));
        Assert.InRange(t.MeanBitsPerSecond / 1e6, 16.5, 16.9); // README: 16.70
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("\n\n", "empty")]
    [InlineData("1\n5\n3\n", "line 3: timestamps must not decrease (3 after 5)")]
    [InlineData("1\nabc\n", "line 2: expected a whole number of milliseconds, got 'abc'")]
    [InlineData("1\n-4\n", "line 2: expected a whole number of milliseconds, got '-4'")]
    [InlineData("1\n2.5\n", "line 2: expected a whole number of milliseconds, got '2.5'")]
    [InlineData("0\n0\n", "last timestamp must be greater than 0")]
    public void Bad_files_name_the_file_line_and_expectation(string content, string expected)
    {
        using var dir = new TempDir();
        string f = dir.File("bad.up", content);
        var e = Assert.Throws<SimUsageException>(() => MahimahiTrace.Load(f));
        Assert.Contains($"trace {f}", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Bad_trace_reaches_the_user_through_the_parser()
    {
        using var dir = new TempDir();
        string good = dir.File("good", "1\n");
        string bad = dir.File("bad", "2\n1\n");
        var e = Assert.Throws<SimUsageException>(() => new ScenarioParser(dir.Path).Parse(new SimArguments { Links = [$"{good},{bad},30"] }));
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sum_holds_every_opportunity_of_each_trace_over_the_longest_period()
    {
        var a = MahimahiTrace.Parse("a", "1\n1\n3\n");  // period 3 ms: 1, 1, 3, 4, 4, 6, 7, 7, 9, 10, 10, 12
        var b = MahimahiTrace.Parse("b", "2\n5\n10\n"); // period 10 ms
        var sum = MahimahiTrace.Sum([a, b]);
        Assert.Equal(10_000, sum.PeriodUs);
        Assert.Equal("a+b", sum.Name);
        for (long t = 0; t <= 10_000; t += 250)
        {
            Assert.Equal(a.CountBefore(t) + b.CountBefore(t), sum.CountBefore(t));
        }
        // a's opportunities at 1, 1, 3, 4, 4, 6, 7, 7, 9, 10, 10 ms and b's at 2, 5, 10 ms: 14 in one period.
        Assert.Equal(14, sum.Count);

        // A sum of one trace is that trace, also when it has opportunities at time 0 (they recur each period).
        var z = MahimahiTrace.Parse("z", "0\n0\n5\n10\n");
        var one = MahimahiTrace.Sum([z, z]);
        for (long t = 0; t <= 35_000; t += 500)
        {
            Assert.Equal(2 * z.CountBefore(t), one.CountBefore(t));
        }
    }

    [Fact]
    public void Pair_names_joined_by_plus_make_one_link_with_the_summed_capacity()
    {
        using var dir = new TempDir();
        dir.File("a.up", "1\n2\n");
        dir.File("a.down", "1\n1\n2\n");
        dir.File("b.up", "2\n");
        dir.File("b.down", "1\n2\n");
        var parser = new ScenarioParser(dir.Path);
        var sum = parser.Parse(new SimArguments { Links = ["a+b,5"], Duration = "0.01", NoTunnel = true });
        var link = Assert.Single(sum.Links);
        Assert.Equal("a.down+b.down", Path.GetFileName(link.DownTrace!.Name));
        // Down: a gives 3 and b 2 opportunities per 2 ms: 5 × 1500 B × 8 / 2 ms = 30 Mbit/s.
        Assert.Equal(30e6, link.DownTrace.MeanBitsPerSecond, 3);
        // Before 10 ms: a.down's 1, 1, 2, 3, 3, … 9, 9 (14) and b.down's 1 … 9 (9): 23 × 1500 B × 8 / 10 ms.
        Assert.Equal(27.6, Simulation.Run(sum).CapacityMbps, 6);

        var e = Assert.Throws<SimUsageException>(() => parser.Parse(new SimArguments { Links = ["a+nope,5"] }));
        Assert.Contains("'nope' is not a trace pair", e.Message, StringComparison.Ordinal);
        var f = Assert.Throws<SimUsageException>(() => parser.Parse(new SimArguments { Links = ["a.up+nope.up,a.down,5"] }));
        Assert.Contains("trace 'nope.up' not found", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trace_pauses_script_counts_what_a_pause_holds_past_the_delay_bar()
    {
        using var dir = new TempDir();
        // Pauses of 100 and 300 ms in a 400 ms trace. At 30 ms links a copy can land 60 ms after the stuck packet
        // would have: 10 ms of each pause is held over 50 ms (20 / 400 = 5 %); at 60 ms links 50 + 70 ms (30 %).
        string t = dir.File("t.down", "0\n100\n400\n");
        var (code, stdout, stderr) = TracePauses("30", "60", "--", t);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains("| t.down | 5.00 | 5.0 % | 30.0 % |", stdout, StringComparison.Ordinal);

        // A bond of t and u (one 350 ms pause): at 60 ms u holds 0-70 ms, t 0-50 and 100-170 ms; the union is 140 ms.
        string u = dir.File("u.down", "0\n350\n400\n");
        (code, stdout, stderr) = TracePauses("--bond", "60", "--", t, u);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains("| t.down+u.down | 7.50 | 35.0 % |", stdout, StringComparison.Ordinal);

        string bad = dir.File("bad.down", "0\nten\n");
        (code, stdout, stderr) = TracePauses("60", "--", bad);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("line 2: expected a whole number of milliseconds", stderr, StringComparison.Ordinal);
    }

    private static (int Code, string Out, string Err) TracePauses(params string[] args) =>
        ChildProcess.Run("bash", [Path.Combine(DeterminismTests.BundledTraces, "..", "scripts", "trace-pauses.sh"), .. args], 30_000);
}
