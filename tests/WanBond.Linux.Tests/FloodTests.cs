using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using WanBond.Core.Security;
using WanBond.Core.Wire;
using Xunit.Abstractions;

namespace WanBond.Linux.Tests;

/// <summary>
/// Hostile input at a real proxy: the namespace testbed's daemons run a session carrying TCP while an "internet
/// host" namespace sends 1,000,000 random datagrams at the proxy's UDP port, many shaped to get past the first checks
/// (right version and type, real or random receiver index, initiations with a valid mac1 from unknown keys or
/// replayed by the real router's key). The proxy must not crash, the session must keep carrying traffic, memory must
/// stay bounded, and the proxy's status counters must show the flood by reason.
/// </summary>
public sealed class FloodTests(ITestOutputHelper output)
{
    private const int Datagrams = 1_000_000;
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    [NetnsFact]
    public void A_million_random_datagrams_at_the_proxy_leave_the_session_working_and_memory_bounded()
    {
        using var bed = new NamespaceTestbed(links: 1);
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
                output.WriteLine("--- router log\n" + bed.Log("router.log"));
                output.WriteLine("--- proxy log\n" + bed.Log("proxy.log"));
            }
        }
    }

    private void Run(NamespaceTestbed bed)
    {
        var (routerYml, proxyYml, routerKeyFile, proxyPublic) = WriteConfigs(bed);
        var proxy = bed.Start("prx", "proxy.log", "dotnet", NamespaceTestbed.CliDll, "proxy", "--config", proxyYml);
        var router = bed.Start("rtr", "router.log", "dotnet", NamespaceTestbed.CliDll, "router", "--config", routerYml);
        NamespaceTestbed.WaitFor(() => bed.Status("router"), s => s.GetProperty("sessions")[0].GetProperty("established").GetBoolean(), TimeSpan.FromSeconds(30), "router session");

        // Warm up (JIT, pools, socket buffers) with real traffic, then take the proxy's memory as the baseline.
        Transfer(bed, 8L << 20);
        Thread.Sleep(1000);
        var rssBefore = RssKiB(proxy.Id);
        var before = bed.Status("proxy");
        var proxyIndex = before.GetProperty("sessions")[0].GetProperty("local_id").GetUInt32();

        var datagrams = new FloodSource(proxyIndex, proxyPublic, routerKeyFile);
        using var socket = NetnsSockets.InNamespace(bed.Ns("srv"), () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        socket.SendBufferSize = 4 << 20;
        var target = new IPEndPoint(IPAddress.Parse("10.202.0.1"), 7700);

        // The legitimate session carries a TCP transfer through the tunnel while the flood runs.
        Exception? transferError = null;
        long transferred = 0;
        var legit = new Thread(() =>
        {
            try
            {
                transferred = Transfer(bed, 16L << 20);
            }
            catch (Exception e)
            {
                transferError = e;
            }
        });
        var sw = Stopwatch.StartNew();
        legit.Start();
        long bytes = 0;
        var buffer = new byte[2048];
        for (var i = 0; i < Datagrams; i++)
        {
            var n = datagrams.Next(buffer);
            bytes += n;
            socket.SendTo(buffer.AsSpan(0, n), SocketFlags.None, target);
            if (sw.Elapsed > TimeSpan.FromMinutes(3))
            {
                Assert.Fail($"the flood took over 3 minutes ({i} datagrams sent)");
            }
        }
        var floodSeconds = sw.Elapsed.TotalSeconds;
        Assert.True(legit.Join(TimeSpan.FromSeconds(90)), "the TCP transfer during the flood did not finish");
        Assert.Null(transferError);
        Assert.Equal(16L << 20, transferred);
        Assert.False(proxy.HasExited, "the proxy exited during the flood");
        Assert.False(router.HasExited, "the router exited during the flood");

        // After the flood: the session still carries traffic both ways, and the proxy's memory came back to its level.
        Thread.Sleep(2000);
        var rssAfter = RssKiB(proxy.Id);
        var reply = NetnsSockets.InNamespace(bed.Ns("lan"), () =>
        {
            using var ping = new System.Net.NetworkInformation.Ping();
            return ping.Send(IPAddress.Parse("10.203.0.2"), 3000);
        });
        Assert.Equal(System.Net.NetworkInformation.IPStatus.Success, reply.Status);
        Assert.Equal(8L << 20, Transfer(bed, 8L << 20, serverSends: true));

        var after = bed.Status("proxy");
        var (sb, sa) = (before.GetProperty("security"), after.GetProperty("security"));
        long Moved(string name, string? group = null)
        {
            var a = group is null ? sa.GetProperty(name) : sa.GetProperty(group).GetProperty(name);
            var b = group is null ? sb.GetProperty(name) : sb.GetProperty(group).GetProperty(name);
            return a.GetInt64() - b.GetInt64();
        }
        var text = NamespaceTestbed.TryRunTimed(Short, "dotnet", NamespaceTestbed.CliDll, "status", "--socket", $"{bed.RunDirectory}/proxy.sock").Output;
        output.WriteLine($"flood: {Datagrams} datagrams, {bytes / 1e6:F0} MB, in {floodSeconds:F1} s ({Datagrams / floodSeconds:F0}/s); TCP through the tunnel meanwhile: {transferred} bytes");
        output.WriteLine($"proxy RSS before {rssBefore / 1024.0:F1} MiB, after {rssAfter / 1024.0:F1} MiB");
        output.WriteLine($"proxy counters moved: auth failed {Moved("auth_failed", "dropped")}, replay {Moved("replay", "dropped")}, unknown session {Moved("unknown_session", "dropped")}, "
            + $"malformed {Moved("malformed", "dropped")}; handshakes failed {Moved("handshakes_failed")}, unknown keys {Moved("unknown_peer")}, cookies {Moved("cookies_sent")}, rate-limited {Moved("rate_limited")}; "
            + $"inbox dropped {after.GetProperty("inbox_dropped").GetInt64() - before.GetProperty("inbox_dropped").GetInt64()}");
        output.WriteLine(text);

        // Every class of hostile datagram reached the proxy and was counted where it belongs.
        Assert.True(Moved("auth_failed", "dropped") > 1000, "datagrams with the real index and a forged tag were not counted");
        Assert.True(Moved("unknown_session", "dropped") > 1000, "datagrams with random indices were not counted");
        Assert.True(Moved("malformed", "dropped") > 1000, "malformed datagrams were not counted");
        Assert.True(Moved("handshakes_failed") > 1000, "forged initiations were not counted");
        Assert.True(Moved("cookies_sent") + Moved("rate_limited") > 0, "initiations with a valid mac1 met neither the cookie gate nor the rate limit");
        Assert.Contains("dropped: ", text, StringComparison.Ordinal);
        Assert.True(after.GetProperty("sessions")[0].GetProperty("established").GetBoolean());

        // Memory: bounded tables and pools; allow for the runtime's own growth, not for per-datagram state.
        Assert.True(rssAfter < rssBefore + 64 * 1024, $"proxy RSS grew from {rssBefore} KiB to {rssAfter} KiB");

        foreach (var p in new[] { router, proxy })
        {
            NamespaceTestbed.Terminate(p);
        }
        Assert.True(router.WaitForExit(20_000) && proxy.WaitForExit(20_000), "the daemons did not stop");
    }

    /// <summary>The datagrams of the flood, deterministic (xorshift), in proportions that reach every check of the proxy.</summary>
    private sealed class FloodSource
    {
        private readonly uint _realIndex;
        private readonly byte[][] _strangerInitiations;
        private readonly byte[][] _replayedInitiations;
        private ulong _state = 0x9E3779B97F4A7C15;
        private long _count;

        public FloodSource(uint realIndex, StaticPublicKey proxy, string routerKeyFile)
        {
            _realIndex = realIndex;
            // Initiations that pass mac1 (anyone can make one: the proxy's key is public) from keys it does not know,
            // and from the real router's key with an old timestamp (a replay): each costs the proxy work past the
            // cheap checks, when the cookie gate and the rate limiter let it through.
            using (var stranger = StaticKeyPair.Generate())
            {
                _strangerInitiations = Initiations(proxy, stranger, 32, timestamp: 1);
            }
            using var routerKey = KeyFile.ReadPrivateKey(routerKeyFile);
            _replayedInitiations = Initiations(proxy, routerKey, 8, timestamp: 1);
        }

        private static byte[][] Initiations(StaticPublicKey proxy, StaticKeyPair key, int count, ulong timestamp)
        {
            var jar = new CookieJar(1);
            var result = new byte[count][];
            for (var i = 0; i < count; i++)
            {
                using var hs = new HandshakeInitiator(key, proxy, (uint)(0x1000 + i), 1, 1472, timestamp, jar);
                result[i] = new byte[HandshakeInitiation.Size];
                hs.WriteInitiation(result[i], 0, 0, 0);
            }
            return result;
        }

        private ulong Rand()
        {
            _state ^= _state << 13;
            _state ^= _state >> 7;
            _state ^= _state << 17;
            return _state;
        }

        private void Fill(Span<byte> span)
        {
            for (var i = 0; i < span.Length; i += 8)
            {
                var r = Rand();
                for (var j = 0; j < 8 && i + j < span.Length; j++)
                {
                    span[i + j] = (byte)(r >> (8 * j));
                }
            }
        }

        private int Length() => (Rand() % 4) switch { 0 => (int)(Rand() % 1400), _ => (int)(Rand() % 160) };

        /// <summary>Writes the next datagram; returns its length.</summary>
        public int Next(byte[] buffer)
        {
            var kind = _count++ % 20;
            switch (kind)
            {
                case < 4: // pure noise
                {
                    var n = Length();
                    Fill(buffer.AsSpan(0, n));
                    return n;
                }
                case < 8: // a transport datagram to the real session's index: reaches the replay window and the AEAD
                {
                    var n = ClearHeader.Size + 16 + Length();
                    Fill(buffer.AsSpan(ClearHeader.Size, n - ClearHeader.Size));
                    var type = (PacketType)(1 + (int)(Rand() % 3));
                    new ClearHeader(type, _realIndex, 0, Rand() % 3 == 0 ? Rand() % 64 : Rand() & ClearHeader.MaxPacketNumber).Write(buffer);
                    return n;
                }
                case < 12: // right version and type, random index: unknown session
                {
                    var n = ClearHeader.Size + Length();
                    Fill(buffer.AsSpan(0, n));
                    var types = new[] { PacketType.Data, PacketType.Ack, PacketType.Probe, PacketType.Close, PacketType.HandshakeResponse, PacketType.CookieReply };
                    buffer[0] = (byte)((ClearHeader.Version << 4) | (int)types[Rand() % (ulong)types.Length]);
                    return n;
                }
                case < 15: // an initiation's shape with a random body: fails mac1
                {
                    Fill(buffer.AsSpan(0, HandshakeInitiation.Size));
                    new ClearHeader(PacketType.HandshakeInitiation, 0, 0, 0).Write(buffer);
                    return HandshakeInitiation.Size;
                }
                case < 17: // a stranger's initiation with a valid mac1
                    _strangerInitiations[Rand() % (ulong)_strangerInitiations.Length].CopyTo(buffer, 0);
                    return HandshakeInitiation.Size;
                case 17: // the real router's key, an old timestamp: a replay
                    _replayedInitiations[Rand() % (ulong)_replayedInitiations.Length].CopyTo(buffer, 0);
                    return HandshakeInitiation.Size;
                default: // cut-off headers and other versions
                {
                    var n = (int)(Rand() % ClearHeader.Size);
                    Fill(buffer.AsSpan(0, ClearHeader.Size + 8));
                    if (kind == 19)
                    {
                        buffer[0] = (byte)((Rand() % 16 << 4) | 1);
                        return ClearHeader.Size + 8;
                    }
                    return n;
                }
            }
        }
    }

    private static long Transfer(NamespaceTestbed bed, long bytes, bool serverSends = false)
    {
        var (sent, received, count) = NetnsSockets.Transfer(bed.Ns("lan"), bed.Ns("srv"), IPAddress.Parse("10.203.0.2"), bytes, serverSends, TimeSpan.FromSeconds(60));
        Assert.Equal(sent, received);
        return count;
    }

    private static long RssKiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"no VmRSS for process {pid}");
    }

    private static (string RouterYml, string ProxyYml, string RouterKeyFile, StaticPublicKey ProxyPublic) WriteConfigs(NamespaceTestbed bed)
    {
        var proxyKeyFile = Path.Combine(bed.Directory, "proxy.key");
        var routerKeyFile = Path.Combine(bed.Directory, "router.key");
        using var proxyKey = StaticKeyPair.Generate();
        using var routerKey = StaticKeyPair.Generate();
        KeyFile.WritePrivateKey(proxyKeyFile, proxyKey);
        KeyFile.WritePrivateKey(routerKeyFile, routerKey);
        var proxyYml = Path.Combine(bed.Directory, "proxy.yml");
        var routerYml = Path.Combine(bed.Directory, "router.yml");
        File.WriteAllText(proxyYml, $"port: 7700\nprivate_key_file: {proxyKeyFile}\ncontrol_socket: {bed.RunDirectory}/proxy.sock\npeers:\n  - name: router\n    public_key: {routerKey.PublicKey}\n    allowed_ips: [10.77.0.2/32]\n");
        File.WriteAllText(routerYml, $"proxy: 10.202.0.1:7700\nproxy_public_key: {proxyKey.PublicKey}\nprivate_key_file: {routerKeyFile}\nlinks: [wan0]\nlan: lan0\ncontrol_socket: {bed.RunDirectory}/router.sock\n");
        return (routerYml, proxyYml, routerKeyFile, proxyKey.PublicKey);
    }

}
