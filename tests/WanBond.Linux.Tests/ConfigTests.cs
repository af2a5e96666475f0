using System.Net;
using WanBond.Core.Sessions;
using WanBond.Linux.Config;

namespace WanBond.Linux.Tests;

public class ConfigTests
{
    private static ConfigException RouterError(string yaml) => Assert.Throws<ConfigException>(() => RouterConfig.Parse("router.yml", yaml));

    private static ConfigException ProxyError(string yaml) => Assert.Throws<ConfigException>(() => ProxyConfig.Parse("proxy.yml", yaml));

    [Fact]
    public void Minimal_router_config_takes_documented_defaults()
    {
        var c = RouterConfig.Parse("router.yml", "proxy: vps.example.com\nlinks: [usb0, usb1]\n");
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
        Assert.Equal("/run/wanbond/router.sock", c.ControlSocket);
    }

    [Fact]
    public void Full_router_config_is_read()
    {
        var c = RouterConfig.Parse("router.yml", """
            proxy: "[2001:db8::1]:9000"
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
    [InlineData("proxy: vps\nlinks: [usb0]\nrouting:\n  table: 254\n", "routing.table: expected a whole number from 256")]
    [InlineData("proxy: vps\nlinks: [usb0]\ncontrol_socket: relative.sock\n", "control_socket: expected an absolute path")]
    [InlineData("proxy: vps\nlinks: [usb0]\nprivate_key_file: /etc/wanbond/key\n", "private_key_file: encryption is not implemented yet")]
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
    [InlineData("peers: []\nport: 1\n", "peers: encryption is not implemented yet")]
    [InlineData("port: 1\nsession_idle_timeout_s: 1\n", "session_idle_timeout_s: expected a whole number from 5")]
    [InlineData("port: 1\nmasquerade: 3\n", "masquerade: expected true or false")]
    public void Proxy_errors_name_field(string yaml, string expected)
    {
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
