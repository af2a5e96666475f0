using System.CommandLine;

namespace WanBond.Cli;

/// <summary>Parses and invokes; a parse error becomes one line on stderr and exit code 2 (no help dump, no stack trace).</summary>
internal static class CommandLineRunner
{
    public const int UsageExitCode = 2;

    public static int Run(RootCommand root, string[] args)
    {
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            var names = new List<string>();
            for (var c = result.CommandResult; c is not null && c.Command is not RootCommand; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            {
                names.Insert(0, c.Command.Name);
            }
            string command = string.Join(' ', ["wanbond", .. names]);
            Console.Error.WriteLine($"{command}: {result.Errors[0].Message} (see {command} --help)");
            return UsageExitCode;
        }
        // The daemons' host handles SIGTERM/SIGINT itself and needs longer than System.CommandLine's 2 s to undo its network set-up.
        return result.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}
