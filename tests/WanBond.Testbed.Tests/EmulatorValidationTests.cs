using System.Globalization;
using System.Text;
using WanBond.Sim;
using WanBond.Testbed.Emulation;
using WanBond.Testbed.Measure;
using WanBond.Testbed.Topology;
using Xunit.Abstractions;

namespace WanBond.Testbed.Tests;

/// <summary>
/// The emulator with real kernels: router and proxy namespaces joined through a modem namespace
/// running <c>wanbond-testbed emulate</c>. A saturating UDP flow must get the link's capacity
/// within ±5 %, and ping the configured delay within ±2 ms. Needs root and iproute2, ethtool,
/// iperf3, ping; skips with the reason otherwise.
/// </summary>
public class EmulatorValidationTests(ITestOutputHelper output)
{
    private const int UdpPayload = 1472; // + 8 UDP + 20 IPv4 = one 1500-byte packet per opportunity

    private static string? Unavailable()
    {
        foreach (var tool in new[] { "iperf3", "ping", "ss" })
        {
            if (!Shell.Exists(tool))
            {
                return $"needs '{tool}' (apt-get install iperf3 iputils-ping iproute2)";
            }
        }
        return Namespaces.Unavailable();
    }

    [SkippableFact]
    public void Constant_rate_link_gives_its_rate_and_its_delay()
    {
        string? why = Unavailable();
        Skip.If(why is not null, why);
        const double delayMs = 25;
        var link = new EmulatedLink("const:20", "const:10", delayMs, QueueMs: 200);
        using var ns = new Namespaces();
        using var topo = BenchTopology.Create(ns, 1, ends: false);
        string dir = Directory.CreateTempSubdirectory("wbt-").FullName;
        using var emulator = topo.StartEmulators([link], dir, 60, 1)[0];

        Ping.Run(ns, topo.Router, BenchTopology.ProxyLinkAddress(0), 1, 0.2); // ARP crosses the link first
        var rtts = Ping.Run(ns, topo.Router, BenchTopology.ProxyLinkAddress(0), 10, 0.2);
        Assert.Equal(10, rtts.Count);
        double meanRtt = rtts.Average(s => s.RttMs);
        output.WriteLine($"idle ping: mean {meanRtt:F2} ms (min {rtts.Min(s => s.RttMs):F2}, max {rtts.Max(s => s.RttMs):F2}); configured one-way delay {delayMs} ms");
        Assert.InRange(meanRtt, (2 * delayMs) - 2, (2 * delayMs) + 2);

        double upMbps = SaturatedUdpMbps(ns, topo.Router, topo.Proxy, BenchTopology.ProxyLinkAddress(0), offeredMbps: 30, seconds: 6);
        double expected = TraceSpec.Load("const:20").MeanBitsPerSecond / 1e6;
        output.WriteLine($"constant link up: {upMbps:F3} Mbit/s of IP packets at the receiver, capacity {expected:F3}");
        Assert.InRange(upMbps, expected * 0.95, expected * 1.05);

        var summary = emulator.Stop();
        output.WriteLine(summary?.ToString() ?? "(no summary)");
    }

    [SkippableFact]
    public void Trace_driven_link_gives_the_trace_mean()
    {
        string? why = Unavailable();
        Skip.If(why is not null, why);
        // The first 5 s of a real LTE downlink, as a trace of period 5 s: any window of whole periods
        // then holds exactly the trace's mean capacity, wherever the flow starts relative to the trace.
        string dir = Directory.CreateTempSubdirectory("wbt-").FullName;
        string excerpt = Path.Combine(dir, "lte-5s.down");
        var source = File.ReadAllLines(TraceSpec.Resolve("TMobile-LTE-short.down"))
            .Select(l => long.Parse(l, CultureInfo.InvariantCulture)).Where(ms => ms < 5000).ToList();
        source.Add(5000);
        File.WriteAllText(excerpt, string.Join('\n', source) + "\n", Encoding.ASCII);
        var trace = MahimahiTrace.Load(excerpt);
        double expected = trace.MeanBitsPerSecond / 1e6;

        var link = new EmulatedLink("const:12", excerpt, DelayMs: 10, QueueMs: 1000);
        using var ns = new Namespaces();
        using var topo = BenchTopology.Create(ns, 1, ends: false);
        using var emulator = topo.StartEmulators([link], dir, 60, 1)[0];
        Ping.Run(ns, topo.Proxy, BenchTopology.RouterLinkAddress(0), 1, 0.2);

        // Downlink (proxy → router), offered well above the trace's peaks so its queue never empties.
        double downMbps = SaturatedUdpMbps(ns, topo.Proxy, topo.Router, BenchTopology.RouterLinkAddress(0), offeredMbps: 3 * expected, seconds: 12);
        output.WriteLine($"trace link down: {downMbps:F3} Mbit/s of IP packets at the receiver, trace mean {expected:F3} ({trace.Count} opportunities / 5 s)");
        var summary = emulator.Stop();
        output.WriteLine(summary?.ToString() ?? "(no summary)");
        Assert.InRange(downMbps, expected * 0.95, expected * 1.05);
    }

    /// <summary>
    /// UDP from <paramref name="senderNs"/> to <paramref name="address"/> in <paramref name="receiverNs"/>; the receiver's
    /// rate in IP bytes over whole 1-s intervals, leaving out the first 1 s (the queue filling) and the last (the tail).
    /// </summary>
    private double SaturatedUdpMbps(Namespaces ns, string senderNs, string receiverNs, string address, double offeredMbps, int seconds)
    {
        using var server = Iperf.Server(ns, receiverNs, address, 5201);
        Iperf.Client(ns, senderNs,
            ["-c", address, "-u", "-b", $"{offeredMbps.ToString("F1", CultureInfo.InvariantCulture)}M", "-l", UdpPayload.ToString(CultureInfo.InvariantCulture),
             "-t", seconds.ToString(CultureInfo.InvariantCulture)], seconds);
        var result = Iperf.ServerResult(server, TimeSpan.FromSeconds(10));
        var intervals = Iperf.Intervals(result);
        output.WriteLine("receiver intervals (bytes, s): " + string.Join(" ", intervals.Select(i => $"{i.Bytes}/{i.Seconds:F3}")));
        var middle = intervals.Skip(1).Take(seconds - 2).ToList();
        Assert.Equal(seconds - 2, middle.Count);
        double payloadBits = middle.Sum(i => i.Bytes) * 8.0;
        double ipBits = payloadBits * (UdpPayload + 28) / UdpPayload;
        return ipBits / middle.Sum(i => i.Seconds) / 1e6;
    }
}
