using System.CommandLine;
using System.Diagnostics;
using WanBond.Sim;

namespace WanBond.Cli;

/// <summary>`wanbond sim`: the flags and their help; parsing and validation live in WanBond.Sim.</summary>
internal static class SimCommand
{
    public static Command Create()
    {
        var link = new Option<string[]>("--link")
        {
            HelpName = "UP_TRACE,DOWN_TRACE,DELAY_MS[,QUEUE_MS[,LOSS]]",
            Description = "A trace-driven link (repeatable). UP_TRACE carries router→proxy, DOWN_TRACE proxy→router: Mahimahi files, " +
                "by path or by the name of a bundled trace (e.g. TMobile-LTE-short.up); a bundled pair name (TMobile-LTE-short) may replace both. " +
                "Traces joined by + are summed into one link (TMobile-LTE-short+Verizon-LTE-short): the ideal aggregate a bond of them could be. " +
                "DELAY_MS: one-way propagation delay each way. QUEUE_MS: drop-tail queue at the trace's mean rate (default 200). LOSS: random loss probability 0..1 (default 0).",
        };
        var linkRate = new Option<string[]>("--link-rate")
        {
            HelpName = "MBIT,DELAY_MS[,QUEUE_MS[,LOSS]]",
            Description = "A constant-rate link, MBIT Mbit/s each way (repeatable). Path ids: --link links first, then --link-rate links, in order.",
        };
        var workload = new Option<string>("--workload")
        {
            HelpName = "bulk|cbr:MBIT|tcp:N",
            Description = "bulk: one always-backlogged UDP flow; cbr:MBIT: constant-rate UDP; tcp:N: N backlogged NewReno flows (default bulk).",
        };
        var direction = new Option<string>("--direction")
        {
            HelpName = "down|up",
            Description = "Data direction: down = proxy→router over the .down traces, up = router→proxy over the .up traces (default down).",
        };
        var scheduler = new Option<string>("--scheduler")
        {
            HelpName = "adaptive|roundrobin|weighted|minrtt",
            Description = "The engine's path scheduler (default adaptive).",
        };
        var duration = new Option<string>("--duration")
        {
            HelpName = "SECONDS",
            Description = "Simulated time; all metrics cover the whole run, start-up included (default 30).",
        };
        var seed = new Option<string>("--seed")
        {
            HelpName = "N",
            Description = "Seed for random loss and flow start offsets; same arguments and seed give byte-identical output (default 1).",
        };
        var cut = new Option<string[]>("--cut")
        {
            HelpName = "LINK_INDEX@START_S[-END_S]",
            Description = "Link LINK_INDEX carries nothing in either direction from START_S to END_S (or to the end); queued packets wait. The engine is not told (repeatable).",
        };
        var timeline = new Option<string>("--timeline")
        {
            HelpName = "MS",
            Description = "Also report goodput and each path's carried Mbit/s per MS-millisecond interval.",
        };
        var startJitter = new Option<string>("--start-jitter")
        {
            HelpName = "MS",
            Description = "TCP flows start at a random offset in [0, MS) ms drawn from the seed (default 0: the first at once, the others within 10 ms). " +
                "One TCP flow on real traces moves by ±30 % with its start time; several seeds with a jitter give a spread, not one draw.",
        };
        var hystart = new Option<bool>("--hystart")
        {
            Description = "TCP flows leave slow start as Linux's HyStart does when their RTT rises (delay detection: the least of a round's first 8 samples above the least RTT by 1/8 of it, 4-16 ms).",
        };
        var noTunnel = new Option<bool>("--no-tunnel")
        {
            Description = "Baseline: run the workload straight over the single given link, without the engine.",
        };
        var backlog = new Option<string>("--backlog")
        {
            HelpName = "PACKETS",
            Description = "bulk: inner packets the sender keeps queued (default 4). With --no-tunnel they wait in the link's own queue: " +
                "a sender that sees the modem queue at once, a reference for what a real sender, which learns of it a round trip late, could make of the link.",
        };
        var cc = new Option<string>("--cc")
        {
            Description = "Per-path congestion control: delay (default; keeps each modem's queue near a small delay target) or reno (loss-based, for comparison).",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object instead of a table.",
        };
        var command = new Command("sim", "Simulate the tunnel over emulated links (deterministic discrete-event simulation) and report goodput, delay and per-path figures.")
        {
            link, linkRate, workload, direction, scheduler, cc, duration, seed, cut, timeline, startJitter, hystart, noTunnel, backlog, json,
        };
        command.SetAction(parse =>
        {
            var arguments = new SimArguments
            {
                Links = parse.GetValue(link) ?? [],
                LinkRates = parse.GetValue(linkRate) ?? [],
                Cuts = parse.GetValue(cut) ?? [],
                Workload = parse.GetValue(workload),
                Direction = parse.GetValue(direction),
                Scheduler = parse.GetValue(scheduler),
                CongestionControl = parse.GetValue(cc),
                Duration = parse.GetValue(duration),
                Seed = parse.GetValue(seed),
                Timeline = parse.GetValue(timeline),
                StartJitter = parse.GetValue(startJitter),
                HyStart = parse.GetValue(hystart),
                NoTunnel = parse.GetValue(noTunnel),
                Backlog = parse.GetValue(backlog),
            };
            return Run(arguments, parse.GetValue(json));
        });
        return command;
    }

    private static int Run(SimArguments arguments, bool json)
    {
        Scenario scenario;
        try
        {
            scenario = new ScenarioParser().Parse(arguments);
        }
        catch (SimUsageException e)
        {
            Console.Error.WriteLine($"wanbond sim: {e.Message}");
            return CommandLineRunner.UsageExitCode;
        }
        var clock = Stopwatch.StartNew();
        var result = Simulation.Run(scenario);
        if (json)
        {
            Console.Out.Write(ReportWriter.ToJson(result));
            Console.Out.Write('\n');
        }
        else
        {
            Console.Out.Write(ReportWriter.ToText(result));
            Console.Error.WriteLine($"(simulated {scenario.DurationS} s in {clock.Elapsed.TotalSeconds:F2} s wall time)");
        }
        return 0;
    }
}
