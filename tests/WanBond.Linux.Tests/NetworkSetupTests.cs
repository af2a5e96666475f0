using WanBond.Linux.Config;
using WanBond.Linux.Network;

namespace WanBond.Linux.Tests;

/// <summary>The commands the set-up issues, recorded instead of run.</summary>
public class NetworkSetupTests
{
    private sealed class RecordingRunner : CommandRunner
    {
        public string? FailOn { get; init; }

        public string RulesJson { get; set; } = "[]";

        public override (int ExitCode, string Output, string Error) TryRun(string program, IReadOnlyList<string> args, string? stdin = null)
        {
            var line = program + " " + string.Join(' ', args);
            History.Add(line);
            if (FailOn is not null && line.Contains(FailOn, StringComparison.Ordinal))
            {
                return (2, "", "RTNETLINK answers: File exists");
            }
            if (line.EndsWith("rule show", StringComparison.Ordinal))
            {
                return (0, RulesJson, "");
            }
            return (line.StartsWith("nft list", StringComparison.Ordinal) ? 1 : 0, "", "");
        }
    }

    private static RouterConfig Config(string extra = "") =>
        RouterConfig.Parse("r.yml", $"proxy: 192.0.2.1\nlinks: [usb0, usb1]\nlan: br-lan\ncontrol_socket: /tmp/x/r.sock\nproxy_public_key: {ConfigTests.Key}\n" + extra);

    [Fact]
    public void Router_setup_owns_its_tables_and_priorities()
    {
        var runner = new RecordingRunner();
        var dir = Directory.CreateTempSubdirectory("wbnet");
        try
        {
            var proc = Path.Combine(dir.FullName, "proc");
            Directory.CreateDirectory(Path.Combine(proc, "net/ipv4"));
            File.WriteAllText(Path.Combine(proc, "net/ipv4/ip_forward"), "0\n");
            var net = new RouterNetwork(Config(), runner, proxyIsIPv6: false, dir.FullName, proc);
            net.Setup("wb0", 1420);
            Assert.Equal("1", File.ReadAllText(Path.Combine(proc, "net/ipv4/ip_forward")));
            var h = runner.History;
            Assert.Contains("ip -4 rule add priority 7700 oif usb0 lookup 7701", h);
            Assert.Contains("ip -4 rule add priority 7701 oif usb1 lookup 7702", h);
            Assert.Contains("ip -4 route replace default dev wb0 table 7700", h);
            Assert.Contains("ip -4 rule add priority 7740 lookup main suppress_prefixlength 0", h);
            Assert.Contains("ip -4 rule add priority 7741 lookup 7700", h);
            Assert.Contains("nft -f -", h);
            net.SetLinkRoute(1, "usb1", System.Net.IPAddress.Parse("192.168.42.129"));
            Assert.Equal("ip -4 route replace default via 192.168.42.129 dev usb1 onlink table 7702", h[^1]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Router_with_IPv6_forwards_v6_keeps_accepting_router_advertisements_on_its_links_and_restores_all()
    {
        var runner = new RecordingRunner();
        var dir = Directory.CreateTempSubdirectory("wbnet");
        try
        {
            var proc = Path.Combine(dir.FullName, "proc");
            foreach (var (key, value) in new[] { ("net/ipv4/ip_forward", "0"), ("net/ipv6/conf/all/forwarding", "0"), ("net/ipv6/conf/usb0/accept_ra", "1"), ("net/ipv6/conf/usb1/accept_ra", "0") })
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(proc, key))!);
                File.WriteAllText(Path.Combine(proc, key), value + "\n");
            }
            string Read(string key) => File.ReadAllText(Path.Combine(proc, key)).Trim();
            var net = new RouterNetwork(Config("tunnel:\n  address6: fd77::2/64\n"), runner, proxyIsIPv6: true, dir.FullName, proc);
            net.Setup("wb0", 1420);
            var h = runner.History;
            Assert.Contains("ip -6 rule add priority 7700 oif usb0 lookup 7701", h);
            Assert.Contains("ip -6 route replace default dev wb0 table 7700", h);
            Assert.Contains("ip -6 rule add priority 7741 lookup 7700", h);
            Assert.Contains("ip -4 rule add priority 7741 lookup 7700", h);
            Assert.Contains("ip -6 addr replace fd77::2/64 dev wb0 nodad", h);
            Assert.Equal("1", Read("net/ipv6/conf/all/forwarding"));
            Assert.Equal("2", Read("net/ipv6/conf/usb0/accept_ra"));
            Assert.Equal("0", Read("net/ipv6/conf/usb1/accept_ra")); // off stays off

            // usb0 unplugged and back: a new interface starts from the default (1) and gets 2 again; its saved value stays 1.
            File.WriteAllText(Path.Combine(proc, "net/ipv6/conf/usb0/accept_ra"), "1\n");
            net.KeepAcceptingRouterAdvertisements("usb0");
            Assert.Equal("2", Read("net/ipv6/conf/usb0/accept_ra"));
            net.KeepAcceptingRouterAdvertisements("usb9"); // absent: nothing, no error

            net.Cleanup("wb0");
            Assert.Equal("0", Read("net/ipv4/ip_forward"));
            Assert.Equal("0", Read("net/ipv6/conf/all/forwarding"));
            Assert.Equal("1", Read("net/ipv6/conf/usb0/accept_ra"));
            Assert.Contains("ip -6 route flush table 7700", h);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_failed_step_rolls_everything_back()
    {
        var runner = new RecordingRunner { FailOn = "oif usb1" };
        var dir = Directory.CreateTempSubdirectory("wbnet");
        try
        {
            var net = new RouterNetwork(Config(), runner, proxyIsIPv6: false, dir.FullName, dir.FullName);
            var e = Assert.Throws<NetworkSetupException>(() => net.Setup("wb0", 1420));
            Assert.Equal("`ip -4 rule add priority 7701 oif usb1 lookup 7702` failed: RTNETLINK answers: File exists", e.Message);
            var after = runner.History.SkipWhile(l => !l.Contains("oif usb1", StringComparison.Ordinal)).Skip(1).ToList();
            Assert.Contains("ip -j -4 rule show", after);
            Assert.Contains("ip -4 route flush table 7701", after);
            Assert.Contains("ip -6 route flush table 7732", after);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Cleanup_deletes_only_rules_in_the_owned_range()
    {
        var runner = new RecordingRunner
        {
            RulesJson = """[{"priority":0,"src":"all","table":"local"},{"priority":7699,"table":"9"},{"priority":7700,"oif":"usb0","table":"7701"},{"priority":7741,"table":"7700"},{"priority":7742,"table":"1"},{"priority":32766,"table":"main"}]""",
        };
        var dir = Directory.CreateTempSubdirectory("wbnet");
        try
        {
            new RouterNetwork(Config(), runner, proxyIsIPv6: false, dir.FullName, dir.FullName).Cleanup("wb0");
            var deletes = runner.History.Where(l => l.Contains("rule del", StringComparison.Ordinal)).ToList();
            Assert.Equal(["ip -4 rule del priority 7700", "ip -4 rule del priority 7741", "ip -6 rule del priority 7700", "ip -6 rule del priority 7741"], deletes);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Rule_priorities_parse_from_ip_json()
    {
        Assert.Equal([0, 7700, 32766], RouterNetwork.RulePriorities("""[{"priority":0},{"priority":7700,"oif":"usb0"},{"priority":32766}]"""));
    }

    [Fact]
    public void Nft_ruleset_masquerades_and_clamps()
    {
        var proxy = Nftables.Ruleset("wb0", masqueradeOut: false, masqueradeFromTunnel: true, mssClamp: true, innerMtu: 1420);
        Assert.StartsWith("table inet wanbond\ndelete table inet wanbond\ntable inet wanbond {", proxy, StringComparison.Ordinal);
        Assert.Contains("iifname \"wb0\" oifname != \"wb0\" masquerade", proxy, StringComparison.Ordinal);
        Assert.Contains("tcp option maxseg size set 1380", proxy, StringComparison.Ordinal);
        Assert.Contains("tcp option maxseg size set 1360", proxy, StringComparison.Ordinal);
        var router = Nftables.Ruleset("wb0", masqueradeOut: true, masqueradeFromTunnel: false, mssClamp: false, innerMtu: 1420);
        Assert.Contains("oifname \"wb0\" masquerade", router, StringComparison.Ordinal);
        Assert.DoesNotContain("maxseg", router, StringComparison.Ordinal);
    }
}
