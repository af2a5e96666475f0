using WanBond.Testbed;
using WanBond.Testbed.Emulation;
using WanBond.Testbed.Native;

const string usage = """
    wanbond-testbed: network-namespace testbed for wanbond.
      emulate  one emulated link (trace-driven capacity, delay, queue, loss) between two interfaces
      bench    topology + benchmark runner (see bench/run)
      cleanup PREFIX   remove namespaces PREFIX-* left by an interrupted run (and what runs in them)
    Run 'wanbond-testbed COMMAND --help' for its options.
    """;

if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
{
    Console.WriteLine(usage);
    return args.Length == 0 ? 2 : 0;
}
try
{
    var rest = args.Skip(1).ToArray();
    return args[0] switch
    {
        "emulate" => EmulateCommand.Run(rest),
        "bench" => WanBond.Testbed.Bench.BenchCommand.Run(rest),
        "cleanup" => Cleanup(rest),
        _ => throw new UsageException($"unknown command '{args[0]}' (emulate, bench)"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"wanbond-testbed: {e.Message}");
    return 2;
}
catch (WanBond.Testbed.Topology.CommandException e)
{
    Console.Error.WriteLine($"wanbond-testbed: {e.Message}");
    return 1;
}
catch (NativeException e)
{
    Console.Error.WriteLine($"wanbond-testbed: {e.Message}");
    return 1;
}

static int Cleanup(string[] rest)
{
    if (rest.Length != 1 || rest[0].Length < 3 || !rest[0].All(char.IsAsciiLetterOrDigit))
    {
        throw new UsageException("cleanup PREFIX: one prefix of letters and digits, as the run printed it");
    }
    int n = WanBond.Testbed.Topology.Namespaces.DeleteAll(rest[0]);
    Console.Error.WriteLine($"cleanup: removed {n} namespace(s) {rest[0]}-*");
    return 0;
}
