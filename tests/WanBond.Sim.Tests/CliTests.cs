
namespace WanBond.Sim.Tests;

public class CliTests
{
    private static Scenario Parse(SimArguments a) => new ScenarioParser(DeterminismTests.BundledTraces).Parse(a);

    public static TheoryData<string, string, string> BadValues() => new()
    {
        { "--link-rate", "x,30", "--link-rate 'x,30': expected MBIT a number > 0" },
        { "--link-rate", "10", "--link-rate '10': expected MBIT,DELAY_MS[,QUEUE_MS[,LOSS]]" },
        { "--link-rate", "10,-1", "expected DELAY_MS a number ≥ 0" },
        { "--link-rate", "10,30,0", "expected QUEUE_MS a number > 0" },
        { "--link-rate", "10,30,200,1.5", "expected LOSS a probability ≥ 0 and < 1, got '1.5'" },
        { "--link", "TMobile-LTE-short.up,30", "expected UP_TRACE,DOWN_TRACE,DELAY_MS" },
        { "--link", "nosuch.up,nosuch.down,30", "trace 'nosuch.up' not found" },
        { "--link", "TMobile-LTE-short.up,TMobile-LTE-short.down,NaN", "expected DELAY_MS" },
        { "--workload", "tcp:0", "--workload 'tcp:0': expected tcp:N with N a whole number 1 to 64, got '0'" },
        { "--workload", "cbr:", "--workload 'cbr:': expected cbr:MBIT" },
        { "--workload", "video", "--workload: expected bulk, cbr:MBIT or tcp:N, got 'video'" },
        { "--direction", "sideways", "--direction: expected down or up, got 'sideways'" },
        { "--scheduler", "fastest", "--scheduler: expected adaptive, roundrobin, weighted or minrtt, got 'fastest'" },
        { "--cc", "cubic", "--cc: expected delay or reno, got 'cubic'" },
        { "--duration", "0", "--duration: expected seconds > 0" },
        { "--duration", "1,5", "--duration: expected seconds > 0" },
        { "--seed", "-3", "--seed: expected a whole number" },
        { "--cut", "5@1-2", "--cut '5@1-2': expected LINK_INDEX a whole number 0 to 0" },
        { "--cut", "0@3-2", "expected END_S a number of seconds > START_S" },
        { "--cut", "0", "--cut '0': expected LINK_INDEX@START_S[-END_S]" },
        { "--timeline", "0", "--timeline: expected a whole number of milliseconds" },
        { "--start-jitter", "-1", "--start-jitter: expected a whole number of milliseconds, 0 to 60000, got '-1'" },
        { "--start-jitter", "2.5", "--start-jitter: expected a whole number of milliseconds" },
        { "--backlog", "0", "--backlog: expected a whole number of packets, 1 to 10000, got '0'" },
        { "--backlog", "tcp", "--backlog: applies to --workload bulk only, not tcp:1" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Bad_values_give_one_line_naming_the_flag(string flag, string value, string expected)
    {
        var a = flag switch
        {
            "--link" => new SimArguments { Links = [value] },
            "--link-rate" => new SimArguments { LinkRates = [value] },
            "--workload" => new SimArguments { LinkRates = ["10,30"], Workload = value },
            "--direction" => new SimArguments { LinkRates = ["10,30"], Direction = value },
            "--scheduler" => new SimArguments { LinkRates = ["10,30"], Scheduler = value },
            "--cc" => new SimArguments { LinkRates = ["10,30"], CongestionControl = value },
            "--duration" => new SimArguments { LinkRates = ["10,30"], Duration = value },
            "--seed" => new SimArguments { LinkRates = ["10,30"], Seed = value },
            "--cut" => new SimArguments { LinkRates = ["10,30"], Cuts = [value] },
            "--start-jitter" => new SimArguments { LinkRates = ["10,30"], StartJitter = value },
            "--backlog" when value == "tcp" => new SimArguments { LinkRates = ["10,30"], Workload = "tcp:1", Backlog = "3" },
            "--backlog" => new SimArguments { LinkRates = ["10,30"], Backlog = value },
            _ => new SimArguments { LinkRates = ["10,30"], Timeline = value },
        };
        var e = Assert.Throws<SimUsageException>(() => Parse(a));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void No_link_and_no_tunnel_with_two_links_are_rejected()
    {
        Assert.Contains("at least one link", Assert.Throws<SimUsageException>(() => Parse(new SimArguments())).Message, StringComparison.Ordinal);
        var e = Assert.Throws<SimUsageException>(() => Parse(new SimArguments { LinkRates = ["10,30", "10,30"], NoTunnel = true }));
        Assert.Contains("--no-tunnel: runs over exactly one link, got 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_and_full_forms_parse()
    {
        var s = Parse(new SimArguments { Links = ["TMobile-LTE-short.up,TMobile-LTE-short.down,30", "Verizon-LTE-short,60,100,0.01"], LinkRates = ["20,15"] });
        Assert.Equal(3, s.Links.Count);
        Assert.Equal(200, s.Links[0].QueueMs);
        Assert.Equal(0, s.Links[0].Loss);
        Assert.Equal(0.01, s.Links[1].Loss);
        Assert.EndsWith("Verizon-LTE-short.down", s.Links[1].DownTrace!.Name, StringComparison.Ordinal);
        Assert.Equal(20, s.Links[2].RateMbps);
        Assert.Equal(WorkloadKind.Bulk, s.Workload.Kind);
        Assert.Equal(DataDirection.Down, s.Direction);
        Assert.Equal(Core.Sessions.SchedulerKind.Adaptive, s.Scheduler);
        Assert.Equal(30, s.DurationS);
        Assert.Equal(1UL, s.Seed);
        var c = Parse(new SimArguments { LinkRates = ["10,30", "10,30"], Cuts = ["1@5-7.5", "0@20"], Workload = "cbr:2.5", Scheduler = "minrtt", Direction = "up" });
        Assert.Equal(new CutSpec(1, 5, 7.5), c.Cuts[0]);
        Assert.True(double.IsPositiveInfinity(c.Cuts[1].EndS));
        Assert.Equal(2.5, c.Workload.CbrMbps);
    }

    private static string CliDll()
    {
        string config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "WanBond", "bin", config, "net10.0", "wanbond.dll"));
        Assert.True(File.Exists(dll), $"{dll} not found: build the solution first (dotnet build)");
        return dll;
    }

    private static (int Code, string Out, string Err) RunCli(params string[] args) => ChildProcess.Run("dotnet", [CliDll(), .. args]);

    [Theory]
    [InlineData("sim --link-rate 10,abc", "DELAY_MS")]
    [InlineData("sim --link-rate 10,30 --bogus", "--bogus")]
    [InlineData("sim --link nosuch.up,nosuch.down,30", "not found")]
    public void Cli_process_exits_2_with_one_line_on_stderr(string args, string mention)
    {
        var (code, stdout, stderr) = RunCli(args.Split(' '));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(mention, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_help_describes_each_flag_and_json_run_is_deterministic()
    {
        var (code, help, _) = RunCli("sim", "--help");
        Assert.Equal(0, code);
        foreach (var flag in new[] { "--link", "--link-rate", "--workload", "--direction", "--scheduler", "--duration", "--seed", "--cut", "--timeline", "--start-jitter", "--hystart", "--no-tunnel", "--json" })
        {
            Assert.Contains(flag, help, StringComparison.Ordinal);
        }
        string[] run = ["sim", "--link-rate", "10,30,200,0.01", "--workload", "tcp:1", "--duration", "3", "--seed", "9", "--json"];
        var a = RunCli(run);
        var b = RunCli(run);
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        Assert.StartsWith("{\"scenario\":", a.Out, StringComparison.Ordinal);
    }
}
