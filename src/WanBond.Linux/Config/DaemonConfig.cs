using System.Globalization;
using System.Net;
using WanBond.Core.Security;
using WanBond.Core.Sessions;
using YamlDotNet.RepresentationModel;

namespace WanBond.Linux.Config;

/// <summary>Settings both daemons share. Field names and defaults are documented in docs/configuration.md.</summary>
public abstract class DaemonConfig
{
    public const int DefaultPort = 7700;

    /// <summary>IPv6 + UDP headers: the datagram size is derived for the larger outer header, so both ends agree whatever family a link uses.</summary>
    public const int OuterOverhead = 48;

    internal static readonly IReadOnlyDictionary<string, SchedulerKind> SchedulerNames = new Dictionary<string, SchedulerKind>
    {
        ["adaptive"] = SchedulerKind.Adaptive,
        ["roundrobin"] = SchedulerKind.RoundRobin,
        ["weighted"] = SchedulerKind.Weighted,
        ["minrtt"] = SchedulerKind.MinRtt,
    };

    /// <summary>What Linux accepts as an interface name (1-15 printable characters, no '/', ':' or spaces).</summary>
    public static bool IsInterfaceName(string name) => YamlSection.IsInterfaceName(name);

    public required string File { get; init; }

    public string TunnelName { get; init; } = "wb0";

    public required IpPrefix TunnelAddress { get; init; }

    public IpPrefix? TunnelAddress6 { get; init; }

    /// <summary>MTU of the links (outer packets).</summary>
    public int Mtu { get; init; } = 1500;

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.Adaptive;

    public bool MssClamp { get; init; } = true;

    public required string ControlSocket { get; init; }

    /// <summary>The environment variable that must be 1 before <c>insecure_null_transport</c> is accepted.</summary>
    public const string InsecureBenchmarkVariable = "WANBOND_INSECURE_BENCHMARK";

    /// <summary>
    /// Benchmark only: the tunnel's datagrams use the null seal (no encryption, no authentication) after an
    /// ordinary handshake. Accepted only with <see cref="InsecureBenchmarkVariable"/>=1 in the environment.
    /// </summary>
    public bool InsecureNullTransport { get; init; }

    public int MaxDatagramSize => Mtu - OuterOverhead;

    public SessionOptions SessionOptions(int pathCount) => new()
    {
        PathCount = pathCount,
        Scheduler = Scheduler,
        MaxDatagramSize = MaxDatagramSize,
    };

    /// <summary>The TUN MTU: what one datagram carries after the tunnel's own headers.</summary>
    public int InnerMtu => new Session(SessionOptions(1), WanBond.Core.Wire.NullSeal.Instance, SessionRole.Initiator, 1, 0).InnerMtu;

    internal static string ReadFile(string file)
    {
        try
        {
            return System.IO.File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(file, 0, "(file)", e is FileNotFoundException or DirectoryNotFoundException ? "not found" : e.Message);
        }
    }

    internal static (string Name, IpPrefix Address, IpPrefix? Address6) ReadTunnel(YamlSection root, string defaultAddress)
    {
        var t = root.GetSection("tunnel");
        if (t is null)
        {
            return ("wb0", IpPrefix.TryParse(defaultAddress, out var p) ? p : default, null);
        }
        var name = t.GetInterfaceName("name", "wb0");
        var address = t.GetPrefix("address", defaultAddress, ipv6: false)!.Value;
        var address6 = t.GetPrefix("address6", null, ipv6: true);
        t.RejectUnknown();
        return (name, address, address6);
    }

    /// <summary>
    /// <c>insecure_null_transport</c>: refused (a configuration error) unless the environment explicitly asks for an
    /// insecure benchmark, so a copied benchmark file can never turn encryption off in production by accident.
    /// </summary>
    internal static bool ReadInsecureNullTransport(YamlSection root, Func<string, string?>? environment)
    {
        if (!root.GetBool("insecure_null_transport", false))
        {
            return false;
        }
        var value = (environment ?? Environment.GetEnvironmentVariable)(InsecureBenchmarkVariable);
        if (value != "1")
        {
            throw root.Error("insecure_null_transport", $"turns off the tunnel's encryption and authentication and is for forwarding benchmarks only; refused unless the environment has {InsecureBenchmarkVariable}=1 (remove this line in production)");
        }
        return true;
    }

    internal static int ReadMtu(YamlSection root) => root.GetInt("mtu", 1500, 576 + OuterOverhead + 64, 9000);

    /// <summary>This end's static private key (mode 0600), read at start.</summary>
    public required string PrivateKeyFile { get; init; }

    /// <summary>Line of <c>private_key_file</c> in the config (0: the default was used), for error messages.</summary>
    public long PrivateKeyFileLine { get; init; }

    /// <summary>
    /// Reads this end's private key. A missing, unreadable, malformed or group/world-accessible file is a
    /// configuration error (exit 2) naming the config, the field and the key file.
    /// </summary>
    public StaticKeyPair ReadPrivateKey()
    {
        try
        {
            return KeyFile.ReadPrivateKey(PrivateKeyFile);
        }
        catch (KeyFileException e)
        {
            throw new ConfigException(File, PrivateKeyFileLine, "private_key_file", e.Message);
        }
    }

    internal static (string Path, long Line) ReadKeyFile(YamlSection root, string fallback)
    {
        var path = root.GetString("private_key_file", fallback)!;
        if (!path.StartsWith('/'))
        {
            throw root.Error("private_key_file", $"expected an absolute path to a private key file (create one with: wanbond genkey > {fallback}), got '{path}'");
        }
        return (path, root.Has("private_key_file") ? root.LineOf("private_key_file") : 0);
    }

    internal static StaticPublicKey ReadPublicKey(YamlSection section, string key, string whose)
    {
        var text = section.GetRequiredString(key, $"{whose} public key: 44 base64 characters, as 'wanbond pubkey' prints it");
        if (!StaticPublicKey.TryParse(text, out var value, out var error))
        {
            throw section.Error(key, $"expected {whose} public key (44 base64 characters, as 'wanbond pubkey' prints it): {error}");
        }
        return value;
    }

    internal static string ReadControlSocket(YamlSection root, string fallback)
    {
        var path = root.GetString("control_socket", fallback)!;
        if (!path.StartsWith('/') || path.Length > 100)
        {
            throw root.Error("control_socket", $"expected an absolute path of at most 100 characters, got '{path}'");
        }
        return path;
    }
}

/// <summary>One link of the router: an interface, and how to reach the proxy through it.</summary>
public sealed record LinkConfig(string Interface, IPAddress? Gateway);

/// <summary>router.yml: the home end.</summary>
public sealed class RouterConfig : DaemonConfig
{
    public const int MaxLinks = 32;

    public required string ProxyHost { get; init; }

    /// <summary>The proxy's static public key: only that proxy can answer the handshake.</summary>
    public required StaticPublicKey ProxyPublicKey { get; init; }

    public int ProxyPort { get; init; } = DefaultPort;

    public required IReadOnlyList<LinkConfig> Links { get; init; }

    public IReadOnlyList<string> Lan { get; init; } = [];

    public bool DefaultRoute { get; init; } = true;

    /// <summary>Masquerade LAN clients behind the router's tunnel address, so the proxy needs no route to the LAN.</summary>
    public bool Masquerade { get; init; } = true;

    public int RoutingTable { get; init; } = 7700;

    public int RulePriority { get; init; } = 7700;

    public int RestartAfterSeconds { get; init; } = 20;

    /// <summary>When <see cref="ProxyHost"/> is a name: how often it is resolved again while the tunnel runs.</summary>
    public int ProxyResolveIntervalSeconds { get; init; } = 300;

    /// <summary><see cref="ProxyHost"/> is a name (not an address literal): it is resolved at start and again while running.</summary>
    public bool ProxyIsName => !IPAddress.TryParse(ProxyHost, out _);

    public static RouterConfig Load(string file) => Parse(file, ReadFile(file));

    public static RouterConfig Parse(string file, string text, Func<string, string?>? environment = null)
    {
        var root = YamlSection.Load(file, text);
        var proxy = root.GetRequiredString("proxy", "the proxy's address as HOST or HOST:PORT (e.g. vps.example.com:7700)");
        if (!TrySplitHostPort(proxy, DefaultPort, out var host, out var port))
        {
            throw root.Error("proxy", $"expected HOST or HOST:PORT with a port from 1 to 65535 (IPv6 as [addr]:port), got '{proxy}'");
        }
        var links = new List<LinkConfig>();
        var linkNodes = root.GetList("links");
        if (linkNodes.Count == 0)
        {
            throw root.Error("links", "is required: expected a list of link interfaces (e.g. - usb0)");
        }
        if (linkNodes.Count > MaxLinks)
        {
            throw root.Error("links", $"expected at most {MaxLinks} links, got {linkNodes.Count}");
        }
        for (var i = 0; i < linkNodes.Count; i++)
        {
            var field = $"links[{i}]";
            LinkConfig link;
            switch (linkNodes[i])
            {
                case YamlScalarNode { Value: var name } when name is not null && YamlSection.IsInterfaceName(name):
                    link = new LinkConfig(name, null);
                    break;
                case YamlMappingNode map:
                    var s = new YamlSection(file, field, map);
                    link = new LinkConfig(s.GetInterfaceName("interface", null), s.GetAddress("gateway"));
                    s.RejectUnknown();
                    break;
                default:
                    throw new ConfigException(file, linkNodes[i].Start.Line, field, $"expected an interface name (e.g. usb0) or a mapping with 'interface', got '{linkNodes[i]}'");
            }
            if (links.Any(l => l.Interface == link.Interface))
            {
                throw new ConfigException(file, linkNodes[i].Start.Line, field, $"interface '{link.Interface}' is listed twice");
            }
            links.Add(link);
        }
        var lan = new List<string>();
        foreach (var node in root.GetList("lan"))
        {
            if (node is not YamlScalarNode { Value: var name } || name is null || !YamlSection.IsInterfaceName(name))
            {
                throw new ConfigException(file, node.Start.Line, "lan", $"expected an interface name or a list of them (e.g. br-lan), got '{node}'");
            }
            lan.Add(name);
        }
        var tunnel = ReadTunnel(root, "10.77.0.2/24");
        if (links.Any(l => l.Interface == tunnel.Name) || lan.Contains(tunnel.Name))
        {
            throw root.Error("tunnel", $"the tunnel's name '{tunnel.Name}' is also used as a link or LAN interface");
        }
        var keyFile = ReadKeyFile(root, "/etc/wanbond/router.key");
        var proxyKey = ReadPublicKey(root, "proxy_public_key", "the proxy's");
        var routing = root.GetSection("routing");
        // Tables table .. table+links and priorities priority .. priority+links+2 belong to wanbond (cleanup deletes exactly those).
        var table = routing?.GetInt("table", 7700, 256, 2_000_000_000) ?? 7700;
        var priority = routing?.GetInt("priority", 7700, 1, 32765 - 64) ?? 7700;
        routing?.RejectUnknown();
        var config = new RouterConfig
        {
            File = file,
            ProxyHost = host,
            ProxyPublicKey = proxyKey,
            PrivateKeyFile = keyFile.Path,
            PrivateKeyFileLine = keyFile.Line,
            ProxyPort = port,
            Links = links,
            Lan = lan,
            TunnelName = tunnel.Name,
            TunnelAddress = tunnel.Address,
            TunnelAddress6 = tunnel.Address6,
            Mtu = ReadMtu(root),
            Scheduler = root.GetEnum("scheduler", SchedulerKind.Adaptive, SchedulerNames),
            DefaultRoute = root.GetBool("default_route", true),
            Masquerade = root.GetBool("masquerade", true),
            MssClamp = root.GetBool("mss_clamp", true),
            RoutingTable = table,
            RulePriority = priority,
            RestartAfterSeconds = root.GetInt("restart_after_s", 20, 3, 3600),
            ProxyResolveIntervalSeconds = root.GetInt("proxy_resolve_interval_s", 300, 1, 86400),
            ControlSocket = ReadControlSocket(root, "/run/wanbond/router.sock"),
            InsecureNullTransport = ReadInsecureNullTransport(root, environment),
        };
        root.RejectUnknown();
        return config;
    }

    public static bool TrySplitHostPort(string text, int defaultPort, out string host, out int port)
    {
        host = text.Trim();
        port = defaultPort;
        if (host.Length == 0)
        {
            return false;
        }
        if (host.StartsWith('['))
        {
            var end = host.IndexOf(']', StringComparison.Ordinal);
            if (end < 0)
            {
                return false;
            }
            var rest = host[(end + 1)..];
            host = host[1..end];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryPort(rest[1..], out port)))
            {
                return false;
            }
            return IPAddress.TryParse(host, out _);
        }
        var colon = host.LastIndexOf(':');
        if (colon >= 0 && host.IndexOf(':', StringComparison.Ordinal) != colon)
        {
            return IPAddress.TryParse(host, out _); // several colons: only a bare IPv6 address (port: use [addr]:port)
        }
        if (colon >= 0)
        {
            if (!TryPort(host[(colon + 1)..], out port))
            {
                return false;
            }
            host = host[..colon];
        }
        return host.Length > 0 && !host.Any(char.IsWhiteSpace);
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;
}

/// <summary>proxy.yml: the VPS end.</summary>
public sealed class ProxyConfig : DaemonConfig
{
    public int Port { get; init; } = DefaultPort;

    public IPAddress ListenAddress { get; init; } = IPAddress.IPv6Any;

    public bool Masquerade { get; init; } = true;

    public int SessionIdleTimeoutSeconds { get; init; } = 120;

    /// <summary>The routers allowed in: their public keys and the inner addresses each may use.</summary>
    public required IReadOnlyList<PeerConfig> Peers { get; init; }

    private static List<PeerConfig> ReadPeers(YamlSection root)
    {
        var nodes = root.GetList("peers");
        var peers = new List<PeerConfig>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var field = $"peers[{i}]";
            if (nodes[i] is not YamlMappingNode map)
            {
                throw new ConfigException(root.File, nodes[i].Start.Line, field, "expected a mapping with public_key and allowed_ips");
            }
            var s = new YamlSection(root.File, field, map);
            var name = s.GetString("name", $"peer {i}")!;
            var key = ReadPublicKey(s, "public_key", "the router's");
            if (peers.Any(p => p.PublicKey == key))
            {
                throw s.Error("public_key", "this key is already listed for another peer: each router needs its own key pair");
            }
            var allowed = new List<IpPrefix>();
            foreach (var node in s.GetList("allowed_ips"))
            {
                if (node is not YamlScalarNode { Value: { } text } || !IpPrefix.TryParse(text, out var prefix))
                {
                    throw new ConfigException(root.File, node.Start.Line, field + ".allowed_ips", $"expected IPv4 or IPv6 prefixes such as 10.77.0.2/32 or fd77::2/128, got '{node}'");
                }
                allowed.Add(prefix);
            }
            if (allowed.Count == 0)
            {
                throw s.Error("allowed_ips", "is required: expected the inner addresses this router may send from, e.g. [10.77.0.2/32] (its tunnel.address as /32)");
            }
            s.RejectUnknown();
            peers.Add(new PeerConfig(name, key, allowed));
        }
        return peers;
    }

    public static ProxyConfig Load(string file) => Parse(file, ReadFile(file));

    public static ProxyConfig Parse(string file, string text, Func<string, string?>? environment = null)
    {
        var root = YamlSection.Load(file, text);
        var keyFile = ReadKeyFile(root, "/etc/wanbond/proxy.key");
        var peers = ReadPeers(root);
        var tunnel = ReadTunnel(root, "10.77.0.1/24");
        var listen = root.GetString("listen_address", "::")!;
        if (!IPAddress.TryParse(listen, out var listenAddress))
        {
            throw root.Error("listen_address", $"expected an IP address (:: for every IPv4 and IPv6 address), got '{listen}'");
        }
        var config = new ProxyConfig
        {
            File = file,
            Port = root.GetInt("port", DefaultPort, 1, 65535),
            PrivateKeyFile = keyFile.Path,
            PrivateKeyFileLine = keyFile.Line,
            Peers = peers,
            ListenAddress = listenAddress,
            TunnelName = tunnel.Name,
            TunnelAddress = tunnel.Address,
            TunnelAddress6 = tunnel.Address6,
            Mtu = ReadMtu(root),
            Scheduler = root.GetEnum("scheduler", SchedulerKind.Adaptive, SchedulerNames),
            Masquerade = root.GetBool("masquerade", true),
            MssClamp = root.GetBool("mss_clamp", true),
            SessionIdleTimeoutSeconds = root.GetInt("session_idle_timeout_s", 120, 5, 86400),
            ControlSocket = ReadControlSocket(root, "/run/wanbond/proxy.sock"),
            InsecureNullTransport = ReadInsecureNullTransport(root, environment),
        };
        root.RejectUnknown();
        return config;
    }
}

/// <summary>One router the proxy lets in: its static public key and the inner source addresses it may use.</summary>
public sealed record PeerConfig(string Name, StaticPublicKey PublicKey, IReadOnlyList<IpPrefix> AllowedIps);
