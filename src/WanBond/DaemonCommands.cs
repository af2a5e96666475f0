using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WanBond.Linux.Config;

namespace WanBond.Cli;

/// <summary>`wanbond router` and `wanbond proxy`: load and check the config (exit 2 before touching the network), then host the daemon.</summary>
internal static class DaemonCommands
{
    public static Command Router() => Create("router", "Run the home end: bond the links in the config into one tunnel to the proxy.", "/etc/wanbond/router.yml", RouterConfig.Load);

    public static Command Proxy() => Create("proxy", "Run the VPS end: accept routers' tunnels and forward their traffic to the internet.", "/etc/wanbond/proxy.yml", ProxyConfig.Load);

    private static Command Create<TConfig>(string name, string description, string defaultConfig, Func<string, TConfig> load)
        where TConfig : DaemonConfig
    {
        var config = new Option<string>("--config")
        {
            HelpName = "FILE",
            Description = $"The YAML configuration (default {defaultConfig}); see docs/configuration.md.",
        };
        var verbose = new Option<bool>("--verbose") { Description = "Log debug detail too." };
        var command = new Command(name, description) { config, verbose };
        command.SetAction(async (parse, cancel) =>
        {
            var file = parse.GetValue(config) ?? defaultConfig;
            TConfig settings;
            try
            {
                settings = load(file);
                // The key file is part of the configuration: a missing, malformed or readable-by-others key stops here (exit 2).
                settings.ReadPrivateKey().Dispose();
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"wanbond {name}: {e.Message}");
                return CommandLineRunner.UsageExitCode;
            }
            if (!OperatingSystem.IsLinux())
            {
                Console.Error.WriteLine($"wanbond {name}: runs on Linux only");
                return CommandLineRunner.UsageExitCode;
            }
            if (!Environment.IsPrivilegedProcess)
            {
                Console.Error.WriteLine($"wanbond {name}: must run as root (it creates a TUN device, routes and nftables rules)");
                return 1;
            }
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.IncludeScopes = false;
            });
            builder.Logging.SetMinimumLevel(parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.None); // the host's own chatter and its stack traces; our failures get one line below
            builder.Services.AddSystemd(); // Type=notify readiness and journald-style log lines when run by systemd
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
            builder.Services.AddSingleton(settings);
            if (settings is RouterConfig)
            {
                builder.Services.AddHostedService<RouterDaemon>();
            }
            else
            {
                builder.Services.AddHostedService<ProxyDaemon>();
            }
            using var host = builder.Build();
            try
            {
                await host.RunAsync(cancel);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM while starting (e.g. still resolving the proxy's name): nothing was set up, nothing to undo.
                return Environment.ExitCode;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"wanbond {name}: {e.Message}");
                if (parse.GetValue(verbose))
                {
                    Console.Error.WriteLine(e);
                }
                return 1;
            }
            return Environment.ExitCode;
        });
        return command;
    }
}
