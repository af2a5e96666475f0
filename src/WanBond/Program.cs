using System.CommandLine;
using WanBond.Cli;

var root = new RootCommand("wanbond: bonds several internet links (mobile modems) into one tunnel between a router and a proxy.");
root.Subcommands.Add(DaemonCommands.Router());
root.Subcommands.Add(DaemonCommands.Proxy());
root.Subcommands.Add(InitCommand.Create());
root.Subcommands.Add(KeyCommands.GenKey());
root.Subcommands.Add(KeyCommands.PubKey());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(SimCommand.Create());
return CommandLineRunner.Run(root, args);
