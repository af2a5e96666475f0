using System.CommandLine;
using System.Globalization;
using WanBond.Core.Security;
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
        command.Subcommands.Add(Peer());
        return command;
    }

    private static Option<string> OutputOption(string fallback) => new("--output")
    {
        HelpName = "FILE",
        Description = $"Where to write the config (default {fallback}).",
    };

    private static Option<bool> ForceOption() => new("--force") { Description = "Overwrite an existing config file (an existing key file is always kept and reused)." };

    private static Option<string> KeyOption() => new("--key")
    {
        HelpName = "FILE",
        Description = "This end's private key file (default: the config's name with .key). Created with mode 0600 if absent; an existing key is reused.",
    };

    private static string DefaultKeyFile(string config) => Path.ChangeExtension(Path.GetFullPath(config), ".key");

    /// <summary>Reads the key file, or makes a new key there. Null (after a message) when it cannot.</summary>
    private static StaticKeyPair? LoadOrCreateKey(string file, string command)
    {
        try
        {
            if (File.Exists(file))
            {
                var existing = KeyFile.ReadPrivateKey(file);
                Console.Out.WriteLine($"using the existing private key {file}");
                return existing;
            }
            var dir = Path.GetDirectoryName(Path.GetFullPath(file));
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }
            var key = StaticKeyPair.Generate();
            KeyFile.WritePrivateKey(file, key);
            Console.Out.WriteLine($"wrote a new private key to {file} (mode 0600)");
            return key;
        }
        catch (KeyFileException e)
        {
            Console.Error.WriteLine($"wanbond {command}: {e.Message}");
            return null;
        }
    }

    private static Command Router()
    {
        var proxy = new Option<string>("--proxy") { HelpName = "HOST[:PORT]", Description = "The proxy's address (port default 7700).", Required = true };
        var proxyKey = new Option<string>("--proxy-key") { HelpName = "KEY", Description = "The proxy's public key, as 'wanbond init proxy' printed it.", Required = true };
        var key = KeyOption();
        var link = new Option<string[]>("--link") { HelpName = "INTERFACE", Description = "A link's interface, e.g. usb0 (repeat for each modem).", Required = true };
        var lan = new Option<string[]>("--lan") { HelpName = "INTERFACE", Description = "A LAN interface whose clients use the tunnel (repeatable)." };
        var output = OutputOption("/etc/wanbond/router.yml");
        var force = ForceOption();
        var command = new Command("router", "Write router.yml and the router's key; print the entry to add on the proxy.") { proxy, proxyKey, link, lan, key, output, force };
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
            var proxyKeyText = parse.GetValue(proxyKey)!;
            if (!StaticPublicKey.TryParse(proxyKeyText, out var proxyPublic, out var keyError))
            {
                return Fail("init router", $"--proxy-key: expected the proxy's public key (44 base64 characters): {keyError}");
            }
            var file = parse.GetValue(output) ?? "/etc/wanbond/router.yml";
            var keyFile = Path.GetFullPath(parse.GetValue(key) ?? DefaultKeyFile(file));
            var text = RouterYaml(proxyText, links, lans, keyFile, proxyPublic);
            RouterConfig.Parse(file, text); // what init writes, the daemon must accept
            if (File.Exists(file) && !parse.GetValue(force))
            {
                return Fail("init router", $"{file} exists; use --force to overwrite it");
            }
            using var routerKey = LoadOrCreateKey(keyFile, "init router");
            if (routerKey is null)
            {
                return 1;
            }
            var code = Write(file, text, force: true, "init router");
            if (code != 0)
            {
                return code;
            }
            Console.Out.WriteLine($"""
                wrote {file}
                next steps:
                  1. on the VPS, let this router in (adds it to proxy.yml's peers):
                       wanbond init peer --public-key {routerKey.PublicKey} --allowed-ips 10.77.0.2/32 --name {Environment.MachineName}
                     or add by hand under peers: in proxy.yml:
                       - name: {Environment.MachineName}
                         public_key: {routerKey.PublicKey}
                         allowed_ips: [10.77.0.2/32]
                     then restart the proxy; UDP port {PortOf(proxyText)} must be open
                  2. here: cp deploy/wanbond-router.service /etc/systemd/system/ && systemctl daemon-reload
                  3. here: systemctl enable --now wanbond-router
                  4. wanbond status --watch
                router public key: {routerKey.PublicKey}
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
        var key = KeyOption();
        var command = new Command("proxy", "Write proxy.yml and the proxy's key; print its public key for the routers.") { port, key, output, force };
        command.SetAction(parse =>
        {
            var p = parse.GetValue(port);
            if (p is < 1 or > 65535)
            {
                return Fail("init proxy", $"--port: expected a port from 1 to 65535, got {p}");
            }
            var file = parse.GetValue(output) ?? "/etc/wanbond/proxy.yml";
            var keyFile = Path.GetFullPath(parse.GetValue(key) ?? DefaultKeyFile(file));
            var text = ProxyYaml(p, keyFile);
            ProxyConfig.Parse(file, text);
            if (File.Exists(file) && !parse.GetValue(force))
            {
                return Fail("init proxy", $"{file} exists; use --force to overwrite it");
            }
            using var proxyKey = LoadOrCreateKey(keyFile, "init proxy");
            if (proxyKey is null)
            {
                return 1;
            }
            var code = Write(file, text, force: true, "init proxy");
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
                  4. on the router: wanbond init router --proxy THIS_HOST:{p} --proxy-key {proxyKey.PublicKey} --link usb0 --link usb1 ...
                  5. here: the command it prints (wanbond init peer ...) to let that router in, then systemctl restart wanbond-proxy
                  6. wanbond status
                proxy public key: {proxyKey.PublicKey}
                """);
            return 0;
        });
        return command;
    }

    private static Command Peer()
    {
        var publicKey = new Option<string>("--public-key") { HelpName = "KEY", Description = "The router's public key, as 'wanbond init router' printed it.", Required = true };
        var allowed = new Option<string[]>("--allowed-ips") { HelpName = "PREFIX", Description = "Inner addresses the router may use (repeatable), e.g. 10.77.0.2/32 (default) or fd77::2/128.", DefaultValueFactory = _ => ["10.77.0.2/32"] };
        var name = new Option<string>("--name") { HelpName = "NAME", Description = "A name for the router in logs (default: router)." };
        var config = new Option<string>("--config") { HelpName = "FILE", Description = "The proxy config to add the router to (default /etc/wanbond/proxy.yml)." };
        var command = new Command("peer", "Let a router in: add its public key and addresses to proxy.yml's peers.") { publicKey, allowed, name, config };
        command.SetAction(parse =>
        {
            var keyText = parse.GetValue(publicKey)!;
            if (!StaticPublicKey.TryParse(keyText, out var peerKey, out var keyError))
            {
                return Fail("init peer", $"--public-key: expected the router's public key (44 base64 characters): {keyError}");
            }
            var prefixes = parse.GetValue(allowed) ?? [];
            foreach (var prefix in prefixes)
            {
                if (!IpPrefix.TryParse(prefix, out _))
                {
                    return Fail("init peer", $"--allowed-ips: expected a prefix such as 10.77.0.2/32 or fd77::2/128, got '{prefix}'");
                }
            }
            var peerName = parse.GetValue(name) ?? "router";
            if (peerName.Length == 0 || peerName.Any(c => char.IsControl(c) || c is '"' or '\\'))
            {
                return Fail("init peer", $"--name: expected a plain name, got '{peerName}'");
            }
            var file = parse.GetValue(config) ?? "/etc/wanbond/proxy.yml";
            string current;
            try
            {
                current = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail("init peer", $"cannot read {file}: {e.Message} (write it first with wanbond init proxy)");
            }
            var text = AppendPeer(current, peerName, peerKey, prefixes);
            try
            {
                ProxyConfig.Parse(file, text);
            }
            catch (ConfigException e)
            {
                return Fail("init peer", $"the result would not be valid, {file} left unchanged: {e.Message}");
            }
            var code = Write(file, text, force: true, "init peer");
            if (code == 0)
            {
                Console.Out.WriteLine($"added router '{peerName}' ({peerKey}) with {string.Join(", ", prefixes)} to {file}; restart the proxy to apply");
            }
            return code;
        });
        return command;
    }

    /// <summary>Adds an entry to the peers list, which init proxy writes as the file's last section.</summary>
    internal static string AppendPeer(string yaml, string name, StaticPublicKey key, IReadOnlyList<string> allowedIps)
    {
        var sb = new System.Text.StringBuilder(yaml.TrimEnd('\n'));
        if (!yaml.Split('\n').Any(l => l.StartsWith("peers:", StringComparison.Ordinal)))
        {
            sb.Append("\n\npeers:");
        }
        sb.Append(CultureInfo.InvariantCulture, $"\n  - name: \"{name}\"\n    public_key: {key}\n    allowed_ips:");
        foreach (var p in allowedIps)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n      - {p}");
        }
        sb.Append('\n');
        return sb.ToString();
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

    internal static string RouterYaml(string proxy, IReadOnlyList<string> links, IReadOnlyList<string> lans, string keyFile, StaticPublicKey proxyKey)
    {
        var linkLines = string.Join("\n", links.Select(l => $"  - {l}"));
        var lanLine = lans.Count == 0 ? "# lan: br-lan          # LAN interface(s) whose clients use the tunnel" : "lan:\n" + string.Join("\n", lans.Select(l => $"  - {l}"));
        return $"""
            # wanbond router configuration (every setting: docs/configuration.md)
            proxy: {Quote(proxy)}
            proxy_public_key: {proxyKey}     # the proxy's public key: only it can answer
            private_key_file: {keyFile}     # this router's key (mode 0600)

            # One entry per modem, by interface name. A link may also be a mapping:
            #   - interface: usb1
            #     gateway: 192.168.42.129   # default: the interface's own default route
            links:
            {linkLines}

            {lanLine}

            tunnel:
              name: wb0
              address: 10.77.0.2/24
              # address6: fd77::2/64    # IPv6 through the tunnel too (the proxy's allowed_ips then needs fd77::2/128)

            # default_route: true     # send all of this machine's traffic through the tunnel
            # masquerade: true        # LAN clients appear as the tunnel address at the proxy
            # mtu: 1500               # MTU of the links
            # scheduler: adaptive
            # proxy_resolve_interval_s: 300   # a proxy given by name is resolved again this often (and when it falls silent)
            # control_socket: /run/wanbond/router.sock

            """.Replace("\n\n\n", "\n\n", StringComparison.Ordinal);
    }

    internal static string ProxyYaml(int port, string keyFile) => $"""
        # wanbond proxy configuration (every setting: docs/configuration.md)
        port: {port.ToString(CultureInfo.InvariantCulture)}
        private_key_file: {keyFile}     # this proxy's key (mode 0600)
        # listen_address: "::"      # every IPv4 and IPv6 address

        tunnel:
          name: wb0
          address: 10.77.0.1/24
          # address6: fd77::1/64    # IPv6 through the tunnel too

        # masquerade: true          # NAT tunnel traffic to the internet
        # mss_clamp: true
        # session_idle_timeout_s: 120
        # control_socket: /run/wanbond/proxy.sock

        # The routers allowed in (wanbond init peer adds one). Keep this section last.
        #   - name: home
        #     public_key: <the router's public key>
        #     allowed_ips: [10.77.0.2/32]   # inner source addresses it may use
        peers:

        """;

    private static string Quote(string s) => s.Contains(':', StringComparison.Ordinal) || s.StartsWith('[') ? $"\"{s}\"" : s;
}
