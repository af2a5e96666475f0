using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using WanBond.Core.Security;
using Xunit.Abstractions;

namespace WanBond.Linux.Tests;

/// <summary>
/// LAN host → router (2 links, each through a "modem" namespace that NATs like a phone) → proxy → internet host,
/// all in namespaces this test creates and always removes. Real daemons, real iperf3.
/// </summary>
public sealed partial class EndToEndTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private readonly ITestOutputHelper _out;

    public EndToEndTests(ITestOutputHelper output) => _out = output;

    [NetnsFact]
    public void Tunnel_carries_tcp_both_ways_survives_a_link_loss_and_leaves_nothing_behind()
    {
        using var bed = new NamespaceTestbed(links: 2);
        var ok = false;
        try
        {
            Run(bed);
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                _out.WriteLine("--- router log\n" + bed.Log("router.log"));
                _out.WriteLine("--- proxy log\n" + bed.Log("proxy.log"));
            }
        }
    }

    private void Run(NamespaceTestbed bed)
    {
        var (routerYml, proxyYml) = WriteConfigs(bed, "wan0, wan1");
        var rulesBefore = new Dictionary<string, string>();
        foreach (var role in new[] { "rtr", "prx" })
        {
            foreach (var family in new[] { "-4", "-6" })
            {
                rulesBefore[role + family] = bed.In(role, Short, "ip", family, "rule", "show").Output;
            }
        }
        var forwardBefore = bed.In("rtr", Short, "cat", "/proc/sys/net/ipv4/ip_forward").Output.Trim();
        var proxyForwardBefore = bed.In("prx", Short, "cat", "/proc/sys/net/ipv4/ip_forward").Output.Trim();

        var proxy = bed.Start("prx", "proxy.log", "dotnet", NamespaceTestbed.CliDll, "proxy", "--config", proxyYml);
        var router = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
        var iperf = bed.Start("srv", "iperf3.log", "iperf3", "-s");

        // The session comes up.
        var status = NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(30), "router session established");
        Assert.DoesNotContain("UNENCRYPTED", NamespaceTestbed.TryRun("dotnet", NamespaceTestbed.CliDll, "status", "--socket", $"{bed.RunDirectory}/router.sock").Output, StringComparison.Ordinal);
        // Both daemons say which ChaCha20-Poly1305 they seal with (OpenSSL wherever libcrypto loads, as on every .NET Linux host).
        Assert.Contains($"ChaCha20-Poly1305 by {WanBond.Core.Security.ChaChaPolySeal.Implementation}", bed.Log("router.log"), StringComparison.Ordinal);
        Assert.Contains($"ChaCha20-Poly1305 by {WanBond.Core.Security.ChaChaPolySeal.Implementation}", bed.Log("proxy.log"), StringComparison.Ordinal);
        var links = status.GetProperty("sessions")[0].GetProperty("links").EnumerateArray().Select(l => l.GetProperty("name").GetString()).ToList();
        Assert.Equal(["wan0", "wan1"], links);

        // Ping through the tunnel (ICMP echo from the LAN host's namespace).
        for (var i = 0; i < 3; i++)
        {
            var reply = NetnsSockets.InNamespace(bed.Ns("lan"), () =>
            {
                using var ping = new System.Net.NetworkInformation.Ping();
                return ping.Send(System.Net.IPAddress.Parse("10.203.0.2"), 2000);
            });
            Assert.Equal(System.Net.NetworkInformation.IPStatus.Success, reply.Status);
        }

        // TCP both ways, every byte, checksummed.
        foreach (var serverSends in new[] { false, true })
        {
            var sw = Stopwatch.StartNew();
            var (sentHash, receivedHash, received) = NetnsSockets.Transfer(bed.Ns("lan"), bed.Ns("srv"), System.Net.IPAddress.Parse("10.203.0.2"), 32L << 20, serverSends, TimeSpan.FromSeconds(30));
            _out.WriteLine($"TCP {(serverSends ? "down" : "up")}: {received} bytes in {sw.Elapsed.TotalSeconds:F1} s");
            Assert.Equal(32L << 20, received);
            Assert.Equal(sentHash, receivedHash);
        }

        // A real iperf3 transfer both ways completes (its receiver count stops at the test's end, so in-flight bytes are not in it).
        foreach (var reverse in new[] { false, true })
        {
            var r = Iperf(bed, reverse ? ["-R"] : [], "-n", "64M");
            _out.WriteLine($"iperf3 {(reverse ? "down" : "up")}: sent {r.Sent}, received {r.Received} bytes, {r.Mbps:F0} Mbit/s");
            Assert.True(r.Sent >= 64L << 20, $"sent {r.Sent} bytes of {64L << 20}");
            Assert.True(r.Received >= r.Sent * 9 / 10, $"received {r.Received} of {r.Sent} bytes");
        }

        // One link goes away mid-transfer: the TCP connection lives on.
        var cut = new Thread(() =>
        {
            Thread.Sleep(2000);
            bed.In("rtr", Short, "ip", "link", "set", "wan1", "down");
        });
        cut.Start();
        var during = Iperf(bed, [], "-t", "6");
        cut.Join();
        _out.WriteLine($"iperf3 with wan1 cut after 2 s: {during.Received} bytes, {during.Mbps:F0} Mbit/s");
        Assert.True(during.Received > 0 && during.Received >= during.Sent * 9 / 10, $"received {during.Received} of {during.Sent} bytes");
        var afterCut = bed.Status("router");
        var wan1 = afterCut.GetProperty("sessions")[0].GetProperty("links")[1];
        Assert.NotEqual("up", wan1.GetProperty("state").GetString());
        var proxyStatus = bed.Status("proxy");
        Assert.Equal(2, proxyStatus.GetProperty("sessions")[0].GetProperty("links").GetArrayLength());
        // The proxy's engine view of the link that carried the download: a window, and a queue estimate.
        var wan0Path = proxyStatus.GetProperty("sessions")[0].GetProperty("links")[0];
        Assert.True(wan0Path.GetProperty("window_kb").GetDouble() > 0, wan0Path.ToString());
        Assert.True(wan0Path.GetProperty("queue_delay_ms").GetDouble() >= 0, wan0Path.ToString());
        Assert.True(wan0Path.GetProperty("in_flight_kb").GetDouble() >= 0, wan0Path.ToString());

        // The link returns with a new address (a modem reconnect with DHCP): it rejoins without a restart.
        bed.In("rtr", Short, "ip", "addr", "flush", "dev", "wan1");
        bed.In("rtr", Short, "ip", "addr", "add", "10.201.1.3/24", "dev", "wan1");
        bed.In("rtr", Short, "ip", "link", "set", "wan1", "up");
        bed.In("rtr", Short, "ip", "route", "replace", "default", "via", "10.201.1.1", "dev", "wan1", "metric", "101");
        NamespaceTestbed.WaitFor(() => bed.Status("router"), s =>
        {
            var l = s.GetProperty("sessions")[0].GetProperty("links")[1];
            return l.GetProperty("state").GetString() == "up" && l.GetProperty("address").GetString() == "10.201.1.3";
        }, TimeSpan.FromSeconds(15), "wan1 back up with its new address");
        var rejoined = Iperf(bed, ["-R"], "-t", "2");
        Assert.True(rejoined.Received > 0);
        var proxyPaths = bed.Status("proxy").GetProperty("sessions")[0].GetProperty("links");
        Assert.Equal("up", proxyPaths[1].GetProperty("state").GetString());

        // The human-readable status names both links too.
        var table = NamespaceTestbed.TryRun("dotnet", NamespaceTestbed.CliDll, "status", "--socket", $"{bed.RunDirectory}/router.sock");
        Assert.Equal(0, table.Code);
        Assert.Contains("wan0", table.Output, StringComparison.Ordinal);
        Assert.Contains("wan1", table.Output, StringComparison.Ordinal);
        Assert.Contains("QUEUE ms", table.Output, StringComparison.Ordinal);

        // Stop as systemd does; both exit cleanly and remove everything of theirs.
        NamespaceTestbed.Terminate(router);
        NamespaceTestbed.Terminate(proxy);
        Assert.True(router.WaitForExit(20_000), "router did not stop within 20 s of SIGTERM");
        Assert.True(proxy.WaitForExit(20_000), "proxy did not stop within 20 s of SIGTERM");
        Assert.Equal(0, router.ExitCode);
        Assert.Equal(0, proxy.ExitCode);
        NamespaceTestbed.Terminate(iperf);

        foreach (var role in new[] { "rtr", "prx" })
        {
            foreach (var family in new[] { "-4", "-6" })
            {
                var rules = bed.In(role, Short, "ip", family, "rule", "show").Output;
                Assert.True(rules == rulesBefore[role + family], $"{role} {family} rules left: {rules}");
                var routes = bed.In(role, Short, "ip", family, "route", "show", "table", "all").Output;
                Assert.False(OwnedTable().IsMatch(routes), $"{role} {family} wanbond routes left: {routes}");
            }
            var nft = bed.In(role, Short, "nft", "list", "tables").Output;
            Assert.DoesNotContain("wanbond", nft, StringComparison.Ordinal);
            Assert.NotEqual(0, bed.In(role, Short, "ip", "link", "show", "wb0").Code);
        }
        Assert.Equal(forwardBefore, bed.In("rtr", Short, "cat", "/proc/sys/net/ipv4/ip_forward").Output.Trim());
        Assert.Equal(proxyForwardBefore, bed.In("prx", Short, "cat", "/proc/sys/net/ipv4/ip_forward").Output.Trim());
        Assert.False(File.Exists($"{bed.RunDirectory}/router.sock"));
        Assert.False(File.Exists($"{bed.RunDirectory}/proxy.sock"));
    }

    [NetnsFact]
    public void A_router_killed_hard_is_repaired_by_its_next_start()
    {
        using var bed = new NamespaceTestbed(links: 1);
        var (routerYml, _) = WriteConfigs(bed, "wan0");
        var rules = bed.In("rtr", Short, "ip", "-4", "rule", "show").Output;
        var forward = bed.In("rtr", Short, "cat", "/proc/sys/net/ipv4/ip_forward").Output.Trim();

        var first = bed.Start("rtr", "router1.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
        NamespaceTestbed.WaitFor(() => bed.Status("router"), _ => true, TimeSpan.FromSeconds(20), "router status");
        first.Kill(); // SIGKILL: no cleanup runs
        first.WaitForExit(10_000);
        Assert.Contains("lookup 7700", bed.In("rtr", Short, "ip", "-4", "rule", "show").Output, StringComparison.Ordinal);
        Assert.Contains("wanbond", bed.In("rtr", Short, "nft", "list", "tables").Output, StringComparison.Ordinal);

        var second = bed.Start("rtr", "router2.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
        NamespaceTestbed.WaitFor(() => bed.Status("router"), _ => true, TimeSpan.FromSeconds(20), "router status after restart");
        var during = bed.In("rtr", Short, "ip", "-4", "rule", "show").Output;
        Assert.Single(Regex.Matches(during, "lookup 7700\\b"));
        NamespaceTestbed.Terminate(second);
        Assert.True(second.WaitForExit(20_000), "router did not stop: " + bed.Log("router2.log"));
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(rules, bed.In("rtr", Short, "ip", "-4", "rule", "show").Output);
        Assert.DoesNotContain("wanbond", bed.In("rtr", Short, "nft", "list", "tables").Output, StringComparison.Ordinal);
        Assert.Equal(forward, bed.In("rtr", Short, "cat", "/proc/sys/net/ipv4/ip_forward").Output.Trim());
    }

    /// <summary>
    /// Keys for both ends (mode 0600) and configs that name them; the proxy lets in the router's key and
    /// <paramref name="extraPeers"/>. The router's key is <paramref name="routerKeyName"/>.key in the test directory.
    /// </summary>
    private static (string RouterYml, string ProxyYml) WriteConfigs(NamespaceTestbed bed, string links, string routerKeyName = "router", StaticPublicKey[]? extraPeers = null, bool routerIsPeer = true, string proxyAddress = "10.202.0.1:7700", bool ipv6 = false, string extraRouter = "")
    {
        var proxyKeyFile = Path.Combine(bed.Directory, "proxy.key");
        if (!File.Exists(proxyKeyFile))
        {
            using var k = StaticKeyPair.Generate();
            KeyFile.WritePrivateKey(proxyKeyFile, k);
        }
        var routerKeyFile = Path.Combine(bed.Directory, routerKeyName + ".key");
        if (!File.Exists(routerKeyFile))
        {
            using var k = StaticKeyPair.Generate();
            KeyFile.WritePrivateKey(routerKeyFile, k);
        }
        using var proxyKey = KeyFile.ReadPrivateKey(proxyKeyFile);
        using var routerKey = KeyFile.ReadPrivateKey(routerKeyFile);
        var peers = new List<StaticPublicKey>(extraPeers ?? []);
        if (routerIsPeer)
        {
            peers.Add(routerKey.PublicKey);
        }
        var allowed = ipv6 ? "[10.77.0.2/32, \"fd77::2/128\"]" : "[10.77.0.2/32]";
        var peerLines = string.Concat(peers.Select((p, i) => $"  - name: router{i}\n    public_key: {p}\n    allowed_ips: {allowed}\n"));
        var tunnel6 = ipv6 ? "tunnel:\n  address6: fd77::1/64\n" : "";
        var routerYml = Path.Combine(bed.Directory, routerKeyName + ".yml");
        var proxyYml = Path.Combine(bed.Directory, "proxy.yml");
        File.WriteAllText(proxyYml, $"port: 7700\nprivate_key_file: {proxyKeyFile}\ncontrol_socket: {bed.RunDirectory}/proxy.sock\n{tunnel6}peers:\n{peerLines}");
        File.WriteAllText(routerYml, $"proxy: {proxyAddress}\nproxy_public_key: {proxyKey.PublicKey}\nprivate_key_file: {routerKeyFile}\nlinks: [{links}]\nlan: lan0\ncontrol_socket: {bed.RunDirectory}/router.sock\n{tunnel6.Replace("fd77::1", "fd77::2", StringComparison.Ordinal)}{extraRouter}");
        return (routerYml, proxyYml);
    }

    [NetnsFact]
    public void A_router_with_an_unknown_key_is_refused_and_a_second_configured_router_gets_in()
    {
        using var bed = new NamespaceTestbed(links: 1);
        var ok = false;
        try
        {
            // The proxy knows one router key ("other"), not the one the first router uses ("stranger").
            var (otherYml, _) = WriteConfigs(bed, "wan0", "other", routerIsPeer: true);
            using var otherKey = KeyFile.ReadPrivateKey(Path.Combine(bed.Directory, "other.key"));
            var (strangerYml, proxyYml) = WriteConfigs(bed, "wan0", "stranger", extraPeers: [otherKey.PublicKey], routerIsPeer: false);
            var proxy = bed.Start("prx", "proxy.log", "dotnet", NamespaceTestbed.CliDll, "proxy", "--config", proxyYml);
            var stranger = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", strangerYml);
            NamespaceTestbed.WaitFor(() => bed.Status("router"), _ => true, TimeSpan.FromSeconds(20), "router status");
            Thread.Sleep(4000); // several handshake attempts (one a second)
            Assert.False(bed.Status("router").GetProperty("sessions")[0].GetProperty("established").GetBoolean(), "a router with an unknown key must not get a session");
            Assert.Equal(0, bed.Status("proxy").GetProperty("sessions").GetArrayLength());
            NamespaceTestbed.Terminate(stranger);
            Assert.True(stranger.WaitForExit(20_000));

            // The configured router (the proxy's other peer) gets in and carries traffic.
            var other = bed.Start("rtr", "router2.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", otherYml);
            NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(30), "configured router established");
            var reply = NetnsSockets.InNamespace(bed.Ns("lan"), () =>
            {
                using var ping = new System.Net.NetworkInformation.Ping();
                return ping.Send(System.Net.IPAddress.Parse("10.203.0.2"), 3000);
            });
            Assert.Equal(System.Net.NetworkInformation.IPStatus.Success, reply.Status);
            NamespaceTestbed.Terminate(other);
            NamespaceTestbed.Terminate(proxy);
            Assert.True(other.WaitForExit(20_000) && proxy.WaitForExit(20_000));
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                _out.WriteLine("--- router log\n" + bed.Log("router.log"));
                _out.WriteLine("--- router2 log\n" + bed.Log("router2.log"));
                _out.WriteLine("--- proxy log\n" + bed.Log("proxy.log"));
            }
        }
    }

    [NetnsFact]
    public void Two_routers_with_their_own_keys_share_one_proxy_at_once()
    {
        using var bed = new NamespaceTestbed(links: 1);
        var second = bed.Ns("rtr2");
        var ok = false;
        try
        {
            // A second router namespace with one link straight to the proxy's network (no modem).
            NamespaceTestbed.Run("ip", "netns", "add", second);
            NamespaceTestbed.Run("ip", "-n", second, "link", "set", "lo", "up");
            NamespaceTestbed.Run("ip", "link", "add", "wan0", "netns", second, "type", "veth", "peer", "name", "r2", "netns", bed.Ns("prx"));
            NamespaceTestbed.Run("ip", "-n", second, "addr", "add", "10.204.0.2/24", "dev", "wan0");
            NamespaceTestbed.Run("ip", "-n", second, "link", "set", "wan0", "up");
            NamespaceTestbed.Run("ip", "-n", second, "route", "add", "default", "via", "10.204.0.1", "dev", "wan0");
            NamespaceTestbed.Run("ip", "-n", bed.Ns("prx"), "addr", "add", "10.204.0.1/24", "dev", "r2");
            NamespaceTestbed.Run("ip", "-n", bed.Ns("prx"), "link", "set", "r2", "up");

            var (firstYml, _) = WriteConfigs(bed, "wan0", "first");
            using var firstKey = KeyFile.ReadPrivateKey(Path.Combine(bed.Directory, "first.key"));
            var secondKeyFile = Path.Combine(bed.Directory, "second.key");
            using (var k = StaticKeyPair.Generate())
            {
                KeyFile.WritePrivateKey(secondKeyFile, k);
            }
            using var secondKey = KeyFile.ReadPrivateKey(secondKeyFile);
            using var proxyKey = KeyFile.ReadPrivateKey(Path.Combine(bed.Directory, "proxy.key"));
            var proxyYml = Path.Combine(bed.Directory, "proxy.yml");
            File.WriteAllText(proxyYml, $"""
                port: 7700
                private_key_file: {Path.Combine(bed.Directory, "proxy.key")}
                control_socket: {bed.RunDirectory}/proxy.sock
                peers:
                  - name: first
                    public_key: {firstKey.PublicKey}
                    allowed_ips: [10.77.0.2/32]
                  - name: second
                    public_key: {secondKey.PublicKey}
                    allowed_ips: [10.77.0.3/32]

                """);
            var secondYml = Path.Combine(bed.Directory, "second.yml");
            File.WriteAllText(secondYml, $"""
                proxy: 10.204.0.1:7700
                proxy_public_key: {proxyKey.PublicKey}
                private_key_file: {secondKeyFile}
                links: [wan0]
                masquerade: false
                tunnel:
                  address: 10.77.0.3/24
                control_socket: {bed.RunDirectory}/router2.sock

                """);
            var proxy = bed.Start("prx", "proxy.log", "dotnet", NamespaceTestbed.CliDll, "proxy", "--config", proxyYml);
            var router1 = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", firstYml);
            var router2 = bed.Start("rtr2", "router2.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", secondYml);
            NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(30), "first router established");
            NamespaceTestbed.WaitFor(() => bed.Status("router2"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(30), "second router established");
            Assert.Equal(2, bed.Status("proxy").GetProperty("sessions").GetArrayLength());

            // Both reach the internet host through their own tunnel, interleaved: each reply goes back to its own router.
            for (var i = 0; i < 3; i++)
            {
                foreach (var ns in new[] { bed.Ns("lan"), second })
                {
                    var reply = NetnsSockets.InNamespace(ns, () =>
                    {
                        using var ping = new System.Net.NetworkInformation.Ping();
                        return ping.Send(System.Net.IPAddress.Parse("10.203.0.2"), 3000);
                    });
                    Assert.True(reply.Status == System.Net.NetworkInformation.IPStatus.Success, $"ping from {ns}: {reply.Status}");
                }
            }
            // Cryptokey routing: the second router may only speak for 10.77.0.3. A datagram it tunnels from another
            // source address is dropped at the proxy; the same from its own address arrives.
            using var receiver = NetnsSockets.InNamespace(bed.Ns("srv"), () => new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.203.0.2"), 9999)));
            receiver.Client.ReceiveTimeout = 3000;
            NamespaceTestbed.Run("ip", "-n", second, "addr", "add", "10.99.0.1/32", "dev", "lo");
            foreach (var (source, text) in new[] { ("10.99.0.1", "spoofed"), ("10.77.0.3", "genuine") })
            {
                NetnsSockets.InNamespace(second, () =>
                {
                    using var u = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(source), 0));
                    return u.Send(System.Text.Encoding.ASCII.GetBytes(text), new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.203.0.2"), 9999));
                });
            }
            var arrived = new List<string>();
            while (!arrived.Contains("genuine"))
            {
                System.Net.IPEndPoint? from = null;
                arrived.Add(System.Text.Encoding.ASCII.GetString(receiver.Receive(ref from))); // throws after 3 s of nothing
            }
            Assert.Equal(["genuine"], arrived); // the tunnel keeps order: a spoofed datagram let through would have come first

            foreach (var p in new[] { router1, router2, proxy })
            {
                NamespaceTestbed.Terminate(p);
            }
            Assert.True(router1.WaitForExit(20_000) && router2.WaitForExit(20_000) && proxy.WaitForExit(20_000));
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                _out.WriteLine("--- router log\n" + bed.Log("router.log"));
                _out.WriteLine("--- router2 log\n" + bed.Log("router2.log"));
                _out.WriteLine("--- proxy log\n" + bed.Log("proxy.log"));
            }
            NamespaceTestbed.TryRun("ip", "netns", "del", second);
        }
    }

    /// <summary>
    /// IPv6 inside and outside: the router reaches the proxy at an IPv6 address over both links (each modem NATs
    /// IPv6 too), and the tunnel carries the LAN host's IPv6 (ping, a checksummed TCP transfer both ways, MSS clamped
    /// for IPv6) alongside IPv4. After stop, nothing of wanbond remains, IPv6 included.
    /// </summary>
    [NetnsFact]
    public void IPv6_inside_the_tunnel_and_as_the_outer_address_of_the_proxy()
    {
        using var bed = new NamespaceTestbed(links: 2);
        var ok = false;
        try
        {
            RunIPv6(bed);
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                _out.WriteLine("--- router log\n" + bed.Log("router.log"));
                _out.WriteLine("--- proxy log\n" + bed.Log("proxy.log"));
            }
        }
    }

    private void RunIPv6(NamespaceTestbed bed)
    {
        var (routerYml, proxyYml) = WriteConfigs(bed, "wan0, wan1", proxyAddress: "\"[fd20:2:0::1]:7700\"", ipv6: true);
        var before = NetworkState(bed);
        var proxy = bed.Start("prx", "proxy.log", "dotnet", NamespaceTestbed.CliDll, "proxy", "--config", proxyYml);
        var router = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
        var status = NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(30), "router session established over IPv6");
        var links = status.GetProperty("sessions")[0].GetProperty("links");
        Assert.Equal("fd20:1::2", links[0].GetProperty("address").GetString());
        Assert.Equal("fd20:1:1::2", links[1].GetProperty("address").GetString());
        // The proxy sees each path arrive from its modem's IPv6 address (the modems masquerade).
        var proxyPaths = NamespaceTestbed.WaitFor(() => bed.Status("proxy"), s => s.GetProperty("sessions")[0].GetProperty("links").EnumerateArray().All(l => l.GetProperty("address").GetString() is not null), TimeSpan.FromSeconds(10), "both paths seen by the proxy")
            .GetProperty("sessions")[0].GetProperty("links");
        Assert.StartsWith("[fd20:2::2]:", proxyPaths[0].GetProperty("address").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("[fd20:2:1::2]:", proxyPaths[1].GetProperty("address").GetString(), StringComparison.Ordinal);
        // What set-up changed (and stop must put back): IPv6 forwarding on both ends; on the router's links accept_ra 1 → 2.
        var during = NetworkState(bed);
        Assert.Equal(("0", "1"), (before["rtr ipv6/conf/all/forwarding"], during["rtr ipv6/conf/all/forwarding"]));
        Assert.Equal(("0", "1"), (before["prx ipv6/conf/all/forwarding"], during["prx ipv6/conf/all/forwarding"]));
        Assert.Equal(("1", "2"), (before["rtr ipv6/conf/wan0/accept_ra"], during["rtr ipv6/conf/wan0/accept_ra"]));
        Assert.Contains("wanbond", during["prx nft"], StringComparison.Ordinal);

        // Inner IPv6 and IPv4 both cross.
        foreach (var target in new[] { "fd20:3::2", "10.203.0.2", "fd20:3::2" })
        {
            var reply = NetnsSockets.InNamespace(bed.Ns("lan"), () =>
            {
                using var ping = new System.Net.NetworkInformation.Ping();
                return ping.Send(System.Net.IPAddress.Parse(target), 2000);
            });
            Assert.True(reply.Status == System.Net.NetworkInformation.IPStatus.Success, $"ping {target}: {reply.Status}");
        }
        foreach (var serverSends in new[] { false, true })
        {
            var (sentHash, receivedHash, received) = NetnsSockets.Transfer(bed.Ns("lan"), bed.Ns("srv"), System.Net.IPAddress.Parse("fd20:3::2"), 16L << 20, serverSends, TimeSpan.FromSeconds(30));
            _out.WriteLine($"TCP over IPv6 {(serverSends ? "down" : "up")}: {received} bytes");
            Assert.Equal(16L << 20, received);
            Assert.Equal(sentHash, receivedHash);
        }
        // The SYN's MSS is clamped to the tunnel: inner MTU 1420 − 40 (IPv6) − 20 (TCP) = 1360, 1380 for IPv4. Unclamped,
        // the LAN host would offer 1440 / 1460 (its MTU is 1500). The server's segment size is that less its TCP options.
        var mss6 = AdvertisedMss(bed, System.Net.IPAddress.Parse("fd20:3::2"));
        var mss4 = AdvertisedMss(bed, System.Net.IPAddress.Parse("10.203.0.2"));
        _out.WriteLine($"server's MSS through the tunnel: IPv6 {mss6}, IPv4 {mss4}");
        Assert.InRange(mss6, 1300, 1360);
        Assert.InRange(mss4, 1320, 1380);

        NamespaceTestbed.Terminate(router);
        NamespaceTestbed.Terminate(proxy);
        Assert.True(router.WaitForExit(20_000), "router did not stop within 20 s of SIGTERM");
        Assert.True(proxy.WaitForExit(20_000), "proxy did not stop within 20 s of SIGTERM");
        Assert.Equal(0, router.ExitCode);
        Assert.Equal(0, proxy.ExitCode);
        AssertNothingLeft(bed, before);
    }

    /// <summary>The MSS the internet host sees in a SYN from the LAN host through the tunnel (what the server's socket may send per segment).</summary>
    private static int AdvertisedMss(NamespaceTestbed bed, System.Net.IPAddress server)
    {
        using var listener = NetnsSockets.InNamespace(bed.Ns("srv"), () =>
        {
            var l = new System.Net.Sockets.Socket(server.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            l.Bind(new System.Net.IPEndPoint(server, 0));
            l.Listen(1);
            return l;
        });
        using var client = NetnsSockets.InNamespace(bed.Ns("lan"), () => new System.Net.Sockets.Socket(server.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp));
        var accept = listener.AcceptAsync();
        Assert.True(client.ConnectAsync(new System.Net.IPEndPoint(server, ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port)).Wait(TimeSpan.FromSeconds(10)), "connect timed out");
        Assert.True(accept.Wait(TimeSpan.FromSeconds(10)), "accept timed out");
        using var accepted = accept.Result;
        var value = new byte[4];
        accepted.GetRawSocketOption(6, 2, value); // IPPROTO_TCP, TCP_MAXSEG: the peer's MSS less our TCP options
        return BitConverter.ToInt32(value);
    }

    /// <summary>
    /// A link's interface vanishes (USB unplug: the veth is deleted) and comes back as a new interface (new ifindex):
    /// the router notices each within 1 s, the link carries traffic again, and the TCP connection running through
    /// the tunnel the whole time survives both. No restart.
    /// </summary>
    [NetnsFact]
    public void A_link_whose_interface_vanishes_and_returns_is_noticed_within_a_second_and_rejoins()
    {
        using var bed = new NamespaceTestbed(links: 2);
        var ok = false;
        try
        {
            var (routerYml, proxyYml) = WriteConfigs(bed, "wan0, wan1");
            var proxy = bed.Start("prx", "proxy.log", "dotnet", NamespaceTestbed.CliDll, "proxy", "--config", proxyYml);
            var router = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
            var iperf = bed.Start("srv", "iperf3.log", "iperf3", "-s");
            NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(30), "router session established");
            NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("links").EnumerateArray().All(l => l.GetProperty("state").GetString() == "up"), TimeSpan.FromSeconds(10), "both links up");

            IperfResult? during = null;
            Exception? failed = null;
            var transfer = new Thread(() =>
            {
                try
                {
                    during = Iperf(bed, [], "-t", "9");
                }
                catch (Exception e)
                {
                    failed = e; // reported below: an exception on this thread would end the test run
                }
            });
            transfer.Start();
            Thread.Sleep(1500);

            // Unplug: the interface is gone.
            var unplugged = DateTime.Now;
            NamespaceTestbed.Run("ip", "-n", bed.Ns("rtr"), "link", "del", "wan1");
            var down = WaitForLog(bed, "router.log", "link wan1: down (interface absent)", unplugged, TimeSpan.FromSeconds(5));
            _out.WriteLine($"wan1 absent noticed after {(down - unplugged).TotalMilliseconds:F0} ms");
            Assert.True(down - unplugged <= TimeSpan.FromSeconds(1), $"link down noticed {(down - unplugged).TotalMilliseconds:F0} ms after the unplug");
            Thread.Sleep(1500);

            // Replug: a new interface of the same name, addressed and routed as a modem's DHCP would.
            var m1 = bed.Ns("m1");
            NamespaceTestbed.Run("ip", "link", "add", "wan1", "netns", bed.Ns("rtr"), "type", "veth", "peer", "name", "in", "netns", m1);
            NamespaceTestbed.Run("ip", "-n", m1, "addr", "add", "10.201.1.1/24", "dev", "in");
            NamespaceTestbed.Run("ip", "-n", m1, "link", "set", "in", "up");
            NamespaceTestbed.Run("ip", "-n", bed.Ns("rtr"), "addr", "add", "10.201.1.2/24", "dev", "wan1");
            NamespaceTestbed.Run("ip", "-n", bed.Ns("rtr"), "link", "set", "wan1", "up");
            NamespaceTestbed.Run("ip", "-n", bed.Ns("rtr"), "route", "add", "default", "via", "10.201.1.1", "dev", "wan1", "metric", "101");
            var replugged = DateTime.Now;
            var up = WaitForLog(bed, "router.log", "link wan1: up (10.201.1.2 via 10.201.1.1)", replugged.AddSeconds(-1), TimeSpan.FromSeconds(5));
            _out.WriteLine($"wan1 back noticed {(up - replugged).TotalMilliseconds:F0} ms after its route appeared");
            Assert.True(up - replugged <= TimeSpan.FromSeconds(1), $"link up noticed {(up - replugged).TotalMilliseconds:F0} ms after the replug");

            Assert.True(transfer.Join(TimeSpan.FromSeconds(70)), "iperf3 did not finish");
            Assert.True(failed is null, $"iperf3 across unplug and replug failed: {failed?.Message}");
            Assert.NotNull(during);
            _out.WriteLine($"iperf3 across unplug and replug: {during.Value.Received} of {during.Value.Sent} bytes, {during.Value.Mbps:F0} Mbit/s");
            Assert.True(during.Value.Received > 0 && during.Value.Received >= during.Value.Sent * 9 / 10, $"received {during.Value.Received} of {during.Value.Sent} bytes");

            // The new interface carries tunnel traffic: the proxy's path 1 is up and the router's wan1 receives again.
            var wan1Before = bed.Status("router").GetProperty("sessions")[0].GetProperty("links")[1].GetProperty("bytes_received").GetInt64();
            Iperf(bed, ["-R"], "-t", "2");
            NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("links")[1].GetProperty("bytes_received").GetInt64() > wan1Before + 100_000, TimeSpan.FromSeconds(5), "traffic on the re-created wan1");
            Assert.Equal("up", bed.Status("proxy").GetProperty("sessions")[0].GetProperty("links")[1].GetProperty("state").GetString());

            NamespaceTestbed.Terminate(router);
            NamespaceTestbed.Terminate(proxy);
            Assert.True(router.WaitForExit(20_000) && proxy.WaitForExit(20_000), "daemons did not stop within 20 s of SIGTERM");
            Assert.Equal(0, router.ExitCode);
            NamespaceTestbed.Terminate(iperf);
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                _out.WriteLine("--- router log\n" + bed.Log("router.log"));
                _out.WriteLine("--- proxy log\n" + bed.Log("proxy.log"));
            }
        }
    }

    /// <summary>
    /// The proxy named in router.yml: a name that does not resolve yet at start (DNS not up at boot) leaves the router
    /// running and retrying with a warning, setting nothing up; once it resolves the tunnel comes up. When the name
    /// later points elsewhere (the VPS moved) and the old address goes dead, the router follows it without a restart.
    /// Names come from a hosts file that `ip netns exec` puts over /etc/hosts in the router's namespace only; its
    /// resolv.conf names 127.0.0.1, so no DNS query leaves the namespace.
    /// </summary>
    [NetnsFact]
    public void A_proxy_name_is_retried_until_it_resolves_and_followed_when_it_moves()
    {
        using var bed = new NamespaceTestbed(links: 1);
        var etc = $"/etc/netns/{bed.Ns("rtr")}";
        var ok = false;
        try
        {
            Directory.CreateDirectory(etc);
            var hosts = Path.Combine(etc, "hosts");
            File.WriteAllText(hosts, "127.0.0.1 localhost\n");
            File.WriteAllText(Path.Combine(etc, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
            // The proxy has two more addresses, on its loopback; the modem's default route leads to it.
            NamespaceTestbed.Run("ip", "-n", bed.Ns("prx"), "addr", "add", "10.205.0.1/32", "dev", "lo");
            NamespaceTestbed.Run("ip", "-n", bed.Ns("prx"), "addr", "add", "10.205.0.2/32", "dev", "lo");
            var (routerYml, proxyYml) = WriteConfigs(bed, "wan0", proxyAddress: "vps.wanbond.test:7700", extraRouter: "restart_after_s: 3\nproxy_resolve_interval_s: 3600\n");
            var rulesBefore = bed.In("rtr", Short, "ip", "-4", "rule", "show").Output;

            var proxy = bed.Start("prx", "proxy.log", "dotnet", NamespaceTestbed.CliDll, "proxy", "--config", proxyYml);
            var router = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
            WaitForLog(bed, "router.log", "cannot resolve the proxy's name 'vps.wanbond.test'", DateTime.MinValue, TimeSpan.FromSeconds(20));
            Thread.Sleep(1500);
            Assert.False(router.HasExited, "the router exited instead of retrying: " + bed.Log("router.log"));
            Assert.Equal(rulesBefore, bed.In("rtr", Short, "ip", "-4", "rule", "show").Output); // nothing set up yet
            Assert.NotEqual(0, bed.In("rtr", Short, "ip", "link", "show", "wb0").Code);

            // DNS comes up: the router sets up and connects.
            File.WriteAllText(hosts, "127.0.0.1 localhost\n10.205.0.1 vps.wanbond.test\n");
            NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(45), "router session after the name resolved");
            Assert.Contains("the proxy's name vps.wanbond.test resolves to 10.205.0.1", bed.Log("router.log"), StringComparison.Ordinal);
            Ping(bed, "10.203.0.2");

            // The VPS moves: the name points at the new address, the old one goes dead.
            File.WriteAllText(hosts, "127.0.0.1 localhost\n10.205.0.2 vps.wanbond.test\n");
            NamespaceTestbed.Run("ip", "-n", bed.Ns("prx"), "addr", "del", "10.205.0.1/32", "dev", "lo");
            var moved = DateTime.Now;
            WaitForLog(bed, "router.log", "proxy address now 10.205.0.2:7700", moved.AddSeconds(-1), TimeSpan.FromSeconds(20));
            NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(20), "router session at the new address");
            _out.WriteLine($"following the move took {(DateTime.Now - moved).TotalSeconds:F1} s");
            Ping(bed, "10.203.0.2");
            Assert.Equal(1, Regex.Count(bed.Log("router.log"), "router up:")); // no restart

            NamespaceTestbed.Terminate(router);
            NamespaceTestbed.Terminate(proxy);
            Assert.True(router.WaitForExit(20_000) && proxy.WaitForExit(20_000), "daemons did not stop within 20 s of SIGTERM");
            Assert.Equal(0, router.ExitCode);
            Assert.Equal(rulesBefore, bed.In("rtr", Short, "ip", "-4", "rule", "show").Output);
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                _out.WriteLine("--- router log\n" + bed.Log("router.log"));
                _out.WriteLine("--- proxy log\n" + bed.Log("proxy.log"));
            }
            try
            {
                Directory.Delete(etc, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    [NetnsFact]
    public void A_router_stopped_while_still_waiting_for_the_proxys_name_exits_cleanly()
    {
        using var bed = new NamespaceTestbed(links: 1);
        var etc = $"/etc/netns/{bed.Ns("rtr")}";
        try
        {
            Directory.CreateDirectory(etc);
            File.WriteAllText(Path.Combine(etc, "hosts"), "127.0.0.1 localhost\n");
            File.WriteAllText(Path.Combine(etc, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
            var (routerYml, _) = WriteConfigs(bed, "wan0", proxyAddress: "vps.wanbond.test");
            var router = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
            WaitForLog(bed, "router.log", "cannot resolve the proxy's name 'vps.wanbond.test'", DateTime.MinValue, TimeSpan.FromSeconds(20));
            NamespaceTestbed.Terminate(router);
            Assert.True(router.WaitForExit(10_000), "router did not stop within 10 s of SIGTERM: " + bed.Log("router.log"));
            Assert.Equal(0, router.ExitCode);
            Assert.DoesNotContain("Exception", bed.Log("router.log"), StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                Directory.Delete(etc, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    private static void Ping(NamespaceTestbed bed, string target)
    {
        var reply = NetnsSockets.InNamespace(bed.Ns("lan"), () =>
        {
            using var ping = new System.Net.NetworkInformation.Ping();
            return ping.Send(System.Net.IPAddress.Parse(target), 3000);
        });
        Assert.True(reply.Status == System.Net.NetworkInformation.IPStatus.Success, $"ping {target}: {reply.Status}");
    }

    /// <summary>
    /// Waits for a log line containing <paramref name="text"/> stamped at or after <paramref name="since"/>, and returns
    /// its time stamp (the daemon's clock, HH:mm:ss.fff of today).
    /// </summary>
    private static DateTime WaitForLog(NamespaceTestbed bed, string log, string text, DateTime since, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            foreach (var line in bed.Log(log).Split('\n'))
            {
                if (line.Contains(text, StringComparison.Ordinal) && line.Length > 12
                    && TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture, out var t))
                {
                    var stamp = DateTime.Today + t;
                    if (stamp > DateTime.Now.AddHours(1))
                    {
                        stamp = stamp.AddDays(-1); // written before midnight, read after
                    }
                    if (stamp.AddMilliseconds(1) >= since)
                    {
                        return stamp;
                    }
                }
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException($"no '{text}' in {log} within {timeout.TotalSeconds} s:\n{bed.Log(log)}");
    }

    /// <summary>Rules, owned-table routes, nft tables and forwarding settings of router and proxy, to compare after stop.</summary>
    private static Dictionary<string, string> NetworkState(NamespaceTestbed bed)
    {
        var state = new Dictionary<string, string>();
        foreach (var role in new[] { "rtr", "prx" })
        {
            foreach (var family in new[] { "-4", "-6" })
            {
                state[$"{role} {family} rules"] = bed.In(role, Short, "ip", family, "rule", "show").Output;
            }
            foreach (var key in new[] { "ipv4/ip_forward", "ipv6/conf/all/forwarding", "ipv6/conf/default/forwarding", "ipv6/conf/lo/accept_ra", role == "rtr" ? "ipv6/conf/wan0/accept_ra" : "ipv6/conf/m0/accept_ra" })
            {
                state[$"{role} {key}"] = bed.In(role, Short, "cat", $"/proc/sys/net/{key}").Output.Trim();
            }
            state[$"{role} nft"] = bed.In(role, Short, "nft", "list", "tables").Output;
        }
        return state;
    }

    private void AssertNothingLeft(NamespaceTestbed bed, Dictionary<string, string> before)
    {
        var after = NetworkState(bed);
        foreach (var (key, value) in before)
        {
            Assert.True(value == after[key], $"{key} changed: before\n{value}\nafter\n{after[key]}");
        }
        foreach (var role in new[] { "rtr", "prx" })
        {
            foreach (var family in new[] { "-4", "-6" })
            {
                var routes = bed.In(role, Short, "ip", family, "route", "show", "table", "all").Output;
                Assert.False(OwnedTable().IsMatch(routes), $"{role} {family} wanbond routes left: {routes}");
            }
            Assert.NotEqual(0, bed.In(role, Short, "ip", "link", "show", "wb0").Code);
        }
        Assert.False(File.Exists($"{bed.RunDirectory}/router.sock"));
        Assert.False(File.Exists($"{bed.RunDirectory}/proxy.sock"));
        _out.WriteLine("after stop: rules, routes, nft tables, forwarding settings as before; no wb0");
    }

    [GeneratedRegex(@"table 77(0\d|1\d|2\d|3[0-2])\b|dev wb0")]
    private static partial Regex OwnedTable();


    private readonly record struct IperfResult(long Sent, long Received, double Mbps);

    private static IperfResult Iperf(NamespaceTestbed bed, string[] direction, params string[] amount)
    {
        var (code, output, error) = bed.In("lan", TimeSpan.FromSeconds(60), ["iperf3", "-c", "10.203.0.2", "-J", "--connect-timeout", "5000", .. direction, .. amount]);
        Assert.True(code == 0, $"iperf3 failed ({code}): {error} {output[..Math.Min(output.Length, 2000)]}");
        using var doc = JsonDocument.Parse(output);
        var end = doc.RootElement.GetProperty("end");
        var sent = end.GetProperty("sum_sent").GetProperty("bytes").GetInt64();
        var received = end.GetProperty("sum_received");
        return new IperfResult(sent, received.GetProperty("bytes").GetInt64(), received.GetProperty("bits_per_second").GetDouble() / 1e6);
    }
}
