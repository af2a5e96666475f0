using WanBond.Testbed;
using WanBond.Testbed.Emulation;
using WanBond.Testbed.Native;

const string usage = """
    wanbond-testbed: network-namespace testbed for wanbond.
      emulate  one emulated link (trace-driven capacity, delay, queue, loss) between two interfaces
      bench    topology + benchmark runner (see bench/run)
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
        _ => throw new UsageException($"unknown command '{args[0]}' (emulate, bench)"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"wanbond-testbed: {e.Message}");
    return 2;
}
catch (NativeException e)
{
    Console.Error.WriteLine($"wanbond-testbed: {e.Message}");
    return 1;
}
