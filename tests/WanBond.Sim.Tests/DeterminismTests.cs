namespace WanBond.Sim.Tests;

public class DeterminismTests
{
    private static string RunJson(string seed, string workload) =>
        ReportWriter.ToJson(Simulation.Run(new ScenarioParser(BundledTraces).Parse(new SimArguments
        {
            Links = ["TMobile-LTE-short.up,TMobile-LTE-short.down,30,200,0.01", "Verizon-LTE-short,40,100,0.02"],
            Workload = workload,
            Duration = "8",
            Seed = seed,
            Timeline = "500",
        })));

    internal static string BundledTraces => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "traces"));

    [Theory]
    [InlineData("bulk")]
    [InlineData("tcp:2")]
    [InlineData("cbr:8")]
    public void Same_arguments_give_byte_identical_json(string workload)
    {
        string a = RunJson("42", workload);
        string b = RunJson("42", workload);
        Assert.Equal(a, b);
        Assert.Contains("\"goodput_mbps\":", a, StringComparison.Ordinal);
    }

    [Fact]
    public void A_start_jitter_moves_the_tcp_flows_start_by_seed_and_stays_deterministic()
    {
        // Lossless links: without a jitter the seed changes nothing for one flow; with one, each seed is its own start
        // time (and so another run), and the same seed gives the same run.
        static string Run(string seed, string? jitter)
        {
            var r = Simulation.Run(new ScenarioParser(BundledTraces).Parse(new SimArguments
            {
                Links = ["TMobile-LTE-short,30", "Verizon-LTE-short,30"],
                Workload = "tcp:1",
                Duration = "6",
                Seed = seed,
                StartJitter = jitter,
            }));
            var json = ReportWriter.ToJson(r);
            return json[json.IndexOf("\"capacity_mbps\"", StringComparison.Ordinal)..]; // the results, not the echoed arguments
        }
        Assert.Equal(Run("1", null), Run("2", null));
        Assert.Equal(Run("1", "3000"), Run("1", "3000"));
        Assert.NotEqual(Run("1", "3000"), Run("2", "3000"));
        Assert.NotEqual(Run("1", null), Run("1", "3000"));
    }

    [Fact]
    public void A_different_seed_on_a_lossy_link_changes_the_output()
    {
        Assert.NotEqual(RunJson("1", "tcp:2"), RunJson("2", "tcp:2"));
    }

    [Fact]
    public void Json_has_the_documented_keys_in_a_stable_order()
    {
        string json = RunJson("1", "bulk");
        string[] keys = ["\"scenario\"", "\"capacity_mbps\"", "\"goodput_mbps\"", "\"efficiency\"", "\"delay_ms\"", "\"reorder_hold_ms_p95\"",
            "\"inner_retransmits\"", "\"inner_fast_recoveries\"", "\"inner_timeouts\"", "\"drops\"", "\"paths\"", "\"utilization\"", "\"share\"", "\"rtt_ms_p50\"", "\"timeline\""];
        int last = -1;
        foreach (var k in keys)
        {
            int at = json.IndexOf(k, StringComparison.Ordinal);
            Assert.True(at > last, $"{k} missing or out of order");
            last = at;
        }
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(2, doc.RootElement.GetProperty("paths").GetArrayLength());
    }
}
