using System.CommandLine;
using System.Globalization;
using WanBond.Linux.Config;

namespace WanBond.Cli;

/// <summary>`wanbond init router|proxy`: writes a commented config that the daemon accepts as is, and says what to do next.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var command = new Command("init", "Write a configuration file for the router or the proxy and print the next steps.");
        command.Subcommands.Add(Router());
        command.Subcommands.Add(Proxy());
        return command;
    }

    private static Option<string> OutputOption(string fallback) => new("--output")
    {
        HelpName = "FILE",
        Description = $"Where to write the config (default {fallback}).",
    };

    private static Option<bool> ForceOption() => new("--force") { Description = "Overwrite an existing file." };

    private static Command Router()
    {
        var proxy = new Option<string>("--proxy") { HelpName = "HOST[:PORT]", Description = "The proxy's address (port default 7700).", Required = true };
        var link = new Option<string[]>("--link") { HelpName = "INTERFACE", Description = "A link's interface, e.g. usb0 (repeat for each modem).", Required = true };
        var lan = new Option<string[]>("--lan") { HelpName = "INTERFACE", Description = "A LAN interface whose clients use the tunnel (repeatable)." };
        var output = OutputOption("/etc/wanbond/router.yml");
        var force = ForceOption();
        var command = new Command("router", "Write router.yml.") { proxy, link, lan, output, force };
        command.SetAction(parse =>
        {
            var proxyText = parse.GetValue(proxy)!;
            if (!RouterConfig.TrySplitHostPort(proxyText, DaemonConfig.DefaultPort, out _, out _))
            {
                return Fail("init router", $"--proxy: expected HOST or HOST:PORT (IPv6 as [addr]:port), got '{proxyText}'");
            }
            var links = parse.GetValue(link) ?? [];
            foreach (var l in links)
            {
                if (!DaemonConfig.IsInterfaceName(l))
                {
                    return Fail("init router", $"--link: expected an interface name such as usb0, got '{l}'");
                }
            }
            if (links.Distinct().Count() != links.Length)
            {
                return Fail("init router", "--link: an interface is given twice");
            }
            var lans = parse.GetValue(lan) ?? [];
            foreach (var l in lans)
            {
                if (!DaemonConfig.IsInterfaceName(l))
                {
                    return Fail("init router", $"--lan: expected an interface name such as br-lan, got '{l}'");
                }
            }
            var text = RouterYaml(proxyText, links, lans);
            var file = parse.GetValue(output) ?? "/etc/wanbond/router.yml";
            RouterConfig.Parse(file, text); // what init writes, the daemon must accept
            var code = Write(file, text, parse.GetValue(force), "init router");
            if (code != 0)
            {
                return code;
            }
            Console.Out.WriteLine($"""
                wrote {file}
                next steps:
                  1. on the VPS: wanbond init proxy, then systemctl enable --now wanbond-proxy (UDP port {PortOf(proxyText)} must be open)
                  2. here: cp deploy/wanbond-router.service /etc/systemd/system/ && systemctl daemon-reload
                  3. here: systemctl enable --now wanbond-router
                  4. wanbond status --watch
                note: traffic is not yet encrypted; the security layer will add keys to this file.
                """);
            return 0;
        });
        return command;
    }

    private static Command Proxy()
    {
        var port = new Option<int>("--port") { HelpName = "N", Description = "UDP port routers connect to (default 7700).", DefaultValueFactory = _ => DaemonConfig.DefaultPort };
        var output = OutputOption("/etc/wanbond/proxy.yml");
        var force = ForceOption();
        var command = new Command("proxy", "Write proxy.yml.") { port, output, force };
        command.SetAction(parse =>
        {
            var p = parse.GetValue(port);
            if (p is < 1 or > 65535)
            {
                return Fail("init proxy", $"--port: expected a port from 1 to 65535, got {p}");
            }
            var text = ProxyYaml(p);
            var file = parse.GetValue(output) ?? "/etc/wanbond/proxy.yml";
            ProxyConfig.Parse(file, text);
            var code = Write(file, text, parse.GetValue(force), "init proxy");
            if (code != 0)
            {
                return code;
            }
            Console.Out.WriteLine($"""
                wrote {file}
                next steps:
                  1. open UDP port {p} in the VPS's firewall
                  2. cp deploy/wanbond-proxy.service /etc/systemd/system/ && systemctl daemon-reload
                  3. systemctl enable --now wanbond-proxy
                  4. on the router: wanbond init router --proxy THIS_HOST:{p} --link usb0 --link usb1 ...
                  5. wanbond status
                note: traffic is not yet encrypted; the security layer will add keys to this file.
                """);
            return 0;
        });
        return command;
    }

    private static string PortOf(string hostPort) =>
        RouterConfig.TrySplitHostPort(hostPort, DaemonConfig.DefaultPort, out _, out var port) ? port.ToString(CultureInfo.InvariantCulture) : "7700";

    private static int Fail(string command, string message)
    {
        Console.Error.WriteLine($"wanbond {command}: {message}");
        return CommandLineRunner.UsageExitCode;
    }

    private static int Write(string file, string text, bool force, string command)
    {
        if (File.Exists(file) && !force)
        {
            return Fail(command, $"{file} exists; use --force to overwrite it");
        }
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(file));
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }
            File.WriteAllText(file, text);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"wanbond {command}: cannot write {file}: {e.Message}");
            return 1;
        }
    }

    internal static string RouterYaml(string proxy, IReadOnlyList<string> links, IReadOnlyList<string> lans)
    {
        var linkLines = string.Join("\n", links.Select(l => $"  - {l}"));
        var lanLine = lans.Count == 0 ? "# lan: br-lan          # LAN interface(s) whose clients use the tunnel" : "lan:\n" + string.Join("\n", lans.Select(l => $"  - {l}"));
        return $"""
            # wanbond router configuration (every setting: docs/configuration.md)
            proxy: {Quote(proxy)}

            # One entry per modem, by interface name. A link may also be a mapping:
            #   - interface: usb1
            #     gateway: 192.168.42.129   # default: the interface's own default route
            links:
            {linkLines}

            {lanLine}

            tunnel:
              name: wb0
              address: 10.77.0.2/24

            # default_route: true     # send all of this machine's traffic through the tunnel
            # masquerade: true        # LAN clients appear as the tunnel address at the proxy
            # mtu: 1500               # MTU of the links
            # scheduler: adaptive
            # control_socket: /run/wanbond/router.sock

            """.Replace("\n\n\n", "\n\n", StringComparison.Ordinal);
    }

    internal static string ProxyYaml(int port) => $"""
        # wanbond proxy configuration (every setting: docs/configuration.md)
        port: {port.ToString(CultureInfo.InvariantCulture)}
        # listen_address: "::"      # every IPv4 and IPv6 address

        tunnel:
          name: wb0
          address: 10.77.0.1/24

        # masquerade: true          # NAT tunnel traffic to the internet
        # mss_clamp: true
        # session_idle_timeout_s: 120
        # control_socket: /run/wanbond/proxy.sock

        """;

    private static string Quote(string s) => s.Contains(':', StringComparison.Ordinal) || s.StartsWith('[') ? $"\"{s}\"" : s;
}
