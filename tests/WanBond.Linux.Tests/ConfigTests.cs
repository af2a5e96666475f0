using System.Net;
using WanBond.Core.Security;
using WanBond.Core.Sessions;
using WanBond.Linux.Config;

namespace WanBond.Linux.Tests;

public class ConfigTests
{
    /// <summary>A valid public key for configs that need one.</summary>
    internal static readonly string Key = NewPublicKey();

    private static string NewPublicKey()
    {
        using var k = StaticKeyPair.Generate();
        return k.PublicKey.ToBase64();
    }

    /// <summary>Router configs in the error tests get the required proxy key appended (last line: no line number changes), unless they test it.</summary>
    private static ConfigException RouterError(string yaml) => Assert.Throws<ConfigException>(() => RouterConfig.Parse(
        "router.yml", yaml.Contains("links", StringComparison.Ordinal) && !yaml.Contains("proxy_public_key", StringComparison.Ordinal) ? yaml + $"proxy_public_key: {Key}\n" : yaml));

    private static ConfigException ProxyError(string yaml) => Assert.Throws<ConfigException>(() => ProxyConfig.Parse("proxy.yml", yaml));

    [Fact]
    public void Minimal_router_config_takes_documented_defaults()
    {
        var c = RouterConfig.Parse("router.yml", $"proxy: vps.example.com\nlinks: [usb0, usb1]\nproxy_public_key: {Key}\n");
        Assert.Equal(Key, c.ProxyPublicKey.ToBase64());
        Assert.Equal("/etc/wanbond/router.key", c.PrivateKeyFile);
        Assert.Equal("vps.example.com", c.ProxyHost);
        Assert.Equal(7700, c.ProxyPort);
        Assert.Equal(["usb0", "usb1"], c.Links.Select(l => l.Interface));
        Assert.All(c.Links, l => Assert.Null(l.Gateway));
        Assert.Empty(c.Lan);
        Assert.Equal("wb0", c.TunnelName);
        Assert.Equal("10.77.0.2/24", c.TunnelAddress.ToString());
        Assert.Null(c.TunnelAddress6);
        Assert.Equal(1500, c.Mtu);
        Assert.Equal(1452, c.MaxDatagramSize);
        Assert.Equal(SchedulerKind.Adaptive, c.Scheduler);
        Assert.True(c.DefaultRoute);
        Assert.True(c.Masquerade);
        Assert.True(c.MssClamp);
        Assert.Equal(7700, c.RoutingTable);
        Assert.Equal(7700, c.RulePriority);
        Assert.Equal(20, c.RestartAfterSeconds);
        Assert.Equal(300, c.ProxyResolveIntervalSeconds);
        Assert.True(c.ProxyIsName);
        Assert.False(c.InsecureNullTransport);
        Assert.Equal("/run/wanbond/router.sock", c.ControlSocket);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    [InlineData("yes")]
    public void The_null_transport_is_refused_unless_the_environment_asks_for_an_insecure_benchmark(string? variable)
    {
        var router = Assert.Throws<ConfigException>(() => RouterConfig.Parse("router.yml", $"proxy: vps\nlinks: [usb0]\nproxy_public_key: {Key}\ninsecure_null_transport: true\n", _ => variable));
        Assert.Equal("router.yml:4: insecure_null_transport: turns off the tunnel's encryption and authentication and is for forwarding benchmarks only; refused unless the environment has WANBOND_INSECURE_BENCHMARK=1 (remove this line in production)", router.Message);
        var proxy = Assert.Throws<ConfigException>(() => ProxyConfig.Parse("proxy.yml", "port: 7700\ninsecure_null_transport: yes\n", _ => variable));
        Assert.StartsWith("proxy.yml:2: insecure_null_transport: turns off", proxy.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_null_transport_is_accepted_with_the_benchmark_variable_and_off_is_always_fine()
    {
        string? Env(string name) => name == "WANBOND_INSECURE_BENCHMARK" ? "1" : null;
        Assert.True(RouterConfig.Parse("router.yml", $"proxy: vps\nlinks: [usb0]\nproxy_public_key: {Key}\ninsecure_null_transport: true\n", Env).InsecureNullTransport);
        Assert.True(ProxyConfig.Parse("proxy.yml", "insecure_null_transport: true\n", Env).InsecureNullTransport);
        Assert.False(ProxyConfig.Parse("proxy.yml", "insecure_null_transport: false\n", _ => null).InsecureNullTransport);
    }

    [Fact]
    public void An_address_literal_proxy_is_not_a_name()
    {
        Assert.False(RouterConfig.Parse("router.yml", $"proxy: \"[2001:db8::1]:9000\"\nlinks: [usb0]\nproxy_public_key: {Key}\n").ProxyIsName);
        Assert.False(RouterConfig.Parse("router.yml", $"proxy: 192.0.2.1\nlinks: [usb0]\nproxy_public_key: {Key}\nproxy_resolve_interval_s: 30\n").ProxyIsName);
    }

    [Fact]
    public void Full_router_config_is_read()
    {
        var c = RouterConfig.Parse("router.yml", $"""
            proxy: "[2001:db8::1]:9000"
            proxy_public_key: {Key}
            private_key_file: /etc/x/r.key
            links:
              - usb0
              - interface: wwan0
                gateway: 192.168.42.129
            lan: [br-lan, eth2]
            tunnel:
              name: bond0
              address: 10.9.0.2/30
              address6: fd00:77::2/64
            mtu: 1400
            scheduler: minrtt
            default_route: false
            masquerade: no
            mss_clamp: off
            routing:
              table: 5000
              priority: 6000
            restart_after_s: 30
            control_socket: /run/x/r.sock
            """);
        Assert.Equal("2001:db8::1", c.ProxyHost);
        Assert.Equal(9000, c.ProxyPort);
        Assert.Equal(IPAddress.Parse("192.168.42.129"), c.Links[1].Gateway);
        Assert.Equal(["br-lan", "eth2"], c.Lan);
        Assert.Equal("bond0", c.TunnelName);
        Assert.Equal("fd00:77::2/64", c.TunnelAddress6.ToString());
        Assert.Equal(1352, c.MaxDatagramSize);
        Assert.Equal(SchedulerKind.MinRtt, c.Scheduler);
        Assert.False(c.DefaultRoute);
        Assert.False(c.Masquerade);
        Assert.False(c.MssClamp);
        Assert.Equal(5000, c.RoutingTable);
        Assert.Equal(6000, c.RulePriority);
        Assert.Equal(30, c.RestartAfterSeconds);
        Assert.Equal("/etc/x/r.key", c.PrivateKeyFile);
    }

    [Fact]
    public void Proxy_defaults()
    {
        var c = ProxyConfig.Parse("proxy.yml", "port: 7700\n");
        Assert.Equal(7700, c.Port);
        Assert.Equal(IPAddress.IPv6Any, c.ListenAddress);
        Assert.Equal("10.77.0.1/24", c.TunnelAddress.ToString());
        Assert.True(c.Masquerade);
        Assert.Equal(120, c.SessionIdleTimeoutSeconds);
        Assert.Equal("/run/wanbond/proxy.sock", c.ControlSocket);
        Assert.Equal("/etc/wanbond/proxy.key", c.PrivateKeyFile);
        Assert.Empty(c.Peers);
    }

    [Fact]
    public void Proxy_peers_with_their_allowed_prefixes()
    {
        var other = NewPublicKey();
        var c = ProxyConfig.Parse("proxy.yml", $"""
            private_key_file: /etc/x/p.key
            peers:
              - name: home
                public_key: {Key}
                allowed_ips: [10.77.0.2/32, "fd77::2/128"]
              - public_key: {other}
                allowed_ips: 10.78.0.0/24
            """);
        Assert.Equal("/etc/x/p.key", c.PrivateKeyFile);
        Assert.Equal(2, c.Peers.Count);
        Assert.Equal("home", c.Peers[0].Name);
        Assert.Equal(Key, c.Peers[0].PublicKey.ToBase64());
        Assert.Equal(["10.77.0.2/32", "fd77::2/128"], c.Peers[0].AllowedIps.Select(p => p.ToString()));
        Assert.Equal("peer 1", c.Peers[1].Name);
        var net = AllowedPrefix.From(c.Peers[1].AllowedIps[0]);
        Assert.Equal("10.78.0.0/24", net.ToString());
        Assert.True(net.Contains(((UInt128)0xFFFF << 32) | 0x0A4E0063)); // 10.78.0.99
        Assert.False(net.Contains(((UInt128)0xFFFF << 32) | 0x0A4F0001)); // 10.79.0.1
        var host6 = AllowedPrefix.From(c.Peers[0].AllowedIps[1]);
        Assert.True(host6.Contains(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(IPAddress.Parse("fd77::2").GetAddressBytes())));
        Assert.False(host6.Contains(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(IPAddress.Parse("fd77::3").GetAddressBytes())));
    }

    [Fact]
    public void Private_key_file_readable_by_others_is_a_config_error_naming_both_files()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var dir = Directory.CreateTempSubdirectory("wb-key");
        try
        {
            var keyFile = Path.Combine(dir.FullName, "router.key");
            using (var k = StaticKeyPair.Generate())
            {
                KeyFile.WritePrivateKey(keyFile, k);
            }
            var c = RouterConfig.Parse("router.yml", $"proxy: vps\nlinks: [usb0]\nproxy_public_key: {Key}\nprivate_key_file: {keyFile}\n");
            using (c.ReadPrivateKey())
            {
            }
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            var e = Assert.Throws<ConfigException>(() => c.ReadPrivateKey());
            Assert.StartsWith("router.yml:4: private_key_file: ", e.Message, StringComparison.Ordinal);
            Assert.Contains(keyFile, e.Message, StringComparison.Ordinal);
            Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
            var missing = RouterConfig.Parse("router.yml", $"proxy: vps\nlinks: [usb0]\nproxy_public_key: {Key}\nprivate_key_file: {dir.FullName}/none.key\n");
            Assert.Contains("does not exist", Assert.Throws<ConfigException>(() => missing.ReadPrivateKey()).Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Inner_mtu_is_the_engines_for_the_datagram_size()
    {
        var c = ProxyConfig.Parse("proxy.yml", "port: 7700\n");
        Assert.Equal(c.MaxDatagramSize - 32, c.InnerMtu);
    }

    [Theory]
    [InlineData("links: [usb0]\n", "router.yml:1: proxy: is required")]
    [InlineData("proxy: a:b:c:d\nlinks: [usb0]\n", "router.yml:1: proxy: expected HOST or HOST:PORT")]
    [InlineData("proxy: vps:70000\nlinks: [usb0]\n", "proxy: expected HOST or HOST:PORT")]
    [InlineData("proxy: vps\n", "links: is required")]
    [InlineData("proxy: vps\nlinks: [usb0, usb0]\n", "links[1]: interface 'usb0' is listed twice")]
    [InlineData("proxy: vps\nlinks: [\"has space\"]\n", "links[0]: expected an interface name")]
    [InlineData("proxy: vps\nlinks:\n  - interface: averyveryverylongname\n", "router.yml:3: links[0].interface: expected an interface name (1 to 15 characters")]
    [InlineData("proxy: vps\nlinks:\n  - interface: usb0\n    gw: 1.2.3.4\n", "router.yml:4: links[0].gw: unknown setting")]
    [InlineData("proxy: vps\nlinks:\n  - interface: usb0\n    gateway: nope\n", "links[0].gateway: expected an IP address or 'auto', got 'nope'")]
    [InlineData("proxy: vps\nlinks: [usb0]\nmtu: 9999999\n", "router.yml:3: mtu: expected a whole number from")]
    [InlineData("proxy: vps\nlinks: [usb0]\nscheduler: fastest\n", "scheduler: expected one of adaptive, roundrobin, weighted, minrtt, got 'fastest'")]
    [InlineData("proxy: vps\nlinks: [usb0]\ntunnel:\n  address: 10.0.0.1\n", "router.yml:4: tunnel.address: expected an IPv4 address with prefix length")]
    [InlineData("proxy: vps\nlinks: [usb0]\ntunnel:\n  address6: 10.0.0.1/24\n", "tunnel.address6: expected an IPv6 address")]
    [InlineData("proxy: vps\nlinks: [usb0]\ntunnel:\n  name: usb0\n", "tunnel: the tunnel's name 'usb0' is also used")]
    [InlineData("proxy: vps\nlinks: [usb0]\nlinkz: [usb1]\n", "router.yml:3: linkz: unknown setting")]
    [InlineData("proxy: vps\nlinks: [usb0]\ndefault_route: maybe\n", "default_route: expected true or false, got 'maybe'")]
    [InlineData("proxy: vps\nlinks: [usb0]\nproxy_resolve_interval_s: 0\n", "router.yml:3: proxy_resolve_interval_s: expected a whole number from 1 to 86400")]
    [InlineData("proxy: vps\nlinks: [usb0]\nrouting:\n  table: 254\n", "routing.table: expected a whole number from 256")]
    [InlineData("proxy: vps\nlinks: [usb0]\ncontrol_socket: relative.sock\n", "control_socket: expected an absolute path")]
    [InlineData("proxy: vps\nlinks: [usb0]\nprivate_key_file: wanbond.key\n", "router.yml:3: private_key_file: expected an absolute path")]
    [InlineData("proxy: vps\nlinks: [usb0]\nproxy_public_key: abc\n", "router.yml:3: proxy_public_key: expected the proxy's public key (44 base64 characters")]
    [InlineData("proxy: vps\nlinks: [usb0]\nproxy_public_key:\n", "proxy_public_key: is required")]
    [InlineData("proxy: [vps\n", "router.yml:2: (syntax): While parsing a flow sequence")]
    [InlineData("", "router.yml: (file): is empty")]
    [InlineData("- a\n- b\n", "(file): expected a YAML mapping")]
    public void Router_errors_name_file_line_field_and_expectation(string yaml, string expected)
    {
        var e = RouterError(yaml);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("port: 0\n", "proxy.yml:1: port: expected a whole number from 1 to 65535, got '0'")]
    [InlineData("listen_address: everywhere\n", "listen_address: expected an IP address")]
    [InlineData("peers:\n  - public_key: 0000\n    allowed_ips: [10.77.0.2/32]\n", "proxy.yml:2: peers[0].public_key: expected the router's public key")]
    [InlineData("peers:\n  - allowed_ips: [10.77.0.2/32]\n", "peers[0].public_key: is required")]
    [InlineData("peers:\n  - name: x\n", "peers[0]")]
    [InlineData("peers: [10.0.0.1]\n", "proxy.yml:1: peers[0]: expected a mapping with public_key and allowed_ips")]
    [InlineData("private_key_file: relative.key\n", "proxy.yml:1: private_key_file: expected an absolute path")]
    [InlineData("port: 1\nsession_idle_timeout_s: 1\n", "session_idle_timeout_s: expected a whole number from 5")]
    [InlineData("port: 1\nmasquerade: 3\n", "masquerade: expected true or false")]
    public void Proxy_errors_name_field(string yaml, string expected)
    {
        Assert.Contains(expected, ProxyError(yaml).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("    allowed_ips: [10.77.0.2]\n", "proxy.yml:3: peers[0].allowed_ips: expected IPv4 or IPv6 prefixes such as 10.77.0.2/32")]
    [InlineData("    allowed_ips: []\n", "peers[0].allowed_ips: is required")]
    [InlineData("    allowed_ips: [10.77.0.2/32]\n    endpoint: x\n", "proxy.yml:4: peers[0].endpoint: unknown setting")]
    [InlineData("    allowed_ips: [10.77.0.2/32]\n  - public_key: KEY\n    allowed_ips: [10.77.0.3/32]\n", "peers[1].public_key: this key is already listed")]
    public void Proxy_peer_errors_name_field(string rest, string expected)
    {
        var yaml = ("peers:\n  - public_key: KEY\n" + rest).Replace("KEY", Key, StringComparison.Ordinal);
        Assert.Contains(expected, ProxyError(yaml).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_a_config_error()
    {
        var e = Assert.Throws<ConfigException>(() => RouterConfig.Load("/nonexistent/router.yml"));
        Assert.Equal("/nonexistent/router.yml: (file): not found", e.Message);
    }

    [Theory]
    [InlineData("vps", "vps", 7700)]
    [InlineData("vps:1", "vps", 1)]
    [InlineData("1.2.3.4:65535", "1.2.3.4", 65535)]
    [InlineData("[::1]:80", "::1", 80)]
    [InlineData("[::1]", "::1", 7700)]
    [InlineData("2001:db8::1", "2001:db8::1", 7700)]
    public void Host_and_port_split(string text, string host, int port)
    {
        Assert.True(RouterConfig.TrySplitHostPort(text, 7700, out var h, out var p));
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("")]
    [InlineData("vps:0")]
    [InlineData("vps:x")]
    [InlineData("[::1")]
    [InlineData("[nope]:1")]
    public void Bad_host_and_port_rejected(string text) => Assert.False(RouterConfig.TrySplitHostPort(text, 7700, out _, out _));

    [Fact]
    public void Prefix_network()
    {
        Assert.True(IpPrefix.TryParse("10.77.0.2/24", out var p));
        Assert.Equal("10.77.0.0/24", p.Network);
        Assert.True(IpPrefix.TryParse("fd00:77::2/64", out var p6));
        Assert.Equal("fd00:77::/64", p6.Network);
        Assert.False(IpPrefix.TryParse("10.0.0.1/33", out _));
    }
}
