using System.Globalization;
using WanBond.Testbed.Topology;

namespace WanBond.Testbed.Bench;

/// <summary>Where a transfer runs for one system: the iperf3 ends, a wrapper, and what the latency probe pings.</summary>
internal sealed record TransferPlan(
    string ServerNs, string ServerAddress, string ClientNs, IReadOnlyList<string> Wrapper,
    IReadOnlyList<(string Ns, string Target)> Probes, IReadOnlyList<int> Links);

/// <summary>A system under test, set up on a topology for one measurement and torn down after it.</summary>
internal interface IBenchSystem
{
    string Name { get; }

    /// <summary>Null when it can run here; else why not (printed, never measured).</summary>
    string? Unavailable { get; }

    /// <summary>Called once per topology, before any measurement.</summary>
    void Prepare(BenchTopology topology);

    /// <summary>Starts what the system needs (links already emulated) and says where to run the transfer.</summary>
    TransferPlan Start(BenchTopology topology);

    void Stop();
}

/// <summary>One link alone, no tunnel: TCP from the router's address on link i to the proxy's.</summary>
internal sealed class SingleLinkSystem(int link) : IBenchSystem
{
    public string Name => $"link{link}";

    public string? Unavailable => null;

    public int Link => link;

    public void Prepare(BenchTopology topology)
    {
    }

    public TransferPlan Start(BenchTopology topology) =>
        new(topology.Proxy, BenchTopology.ProxyLinkAddress(link), topology.Router, [],
            [(topology.Router, BenchTopology.ProxyLinkAddress(link))], [link]);

    public void Stop()
    {
    }
}

/// <summary>
/// Kernel MPTCP between router and proxy over every link: the in-kernel path manager opens one
/// subflow per router endpoint (one per link, bound to its interface, with a routing table per
/// source address), and mptcpize makes iperf3 use MPTCP sockets on both ends. The probe pings the
/// proxy over every link; RTT percentiles pool all of them.
/// </summary>
internal sealed class MptcpSystem : IBenchSystem
{
    public string Name => "mptcp";

    public string? Unavailable
    {
        get
        {
            if (!Shell.Exists("mptcpize"))
            {
                return "mptcpize not installed (apt-get install mptcpize)";
            }
            string enabled = File.Exists("/proc/sys/net/mptcp/enabled") ? File.ReadAllText("/proc/sys/net/mptcp/enabled").Trim() : "0";
            return enabled == "1" ? null : "kernel MPTCP is not enabled (net.mptcp.enabled)";
        }
    }

    public void Prepare(BenchTopology t)
    {
        foreach (var ns in new[] { t.Router, t.Proxy })
        {
            t.Ns.Sysctl(ns, "net.mptcp.enabled", "1");
            t.Ns.Exec(ns, "ip", "mptcp", "limits", "set", "subflow", "8", "add_addr_accepted", "8");
        }
        for (int i = 0; i < t.Links; i++)
        {
            string table = (100 + i).ToString(CultureInfo.InvariantCulture);
            t.Ns.Exec(t.Router, "ip", "route", "add", "default", "via", BenchTopology.ProxyLinkAddress(i), "dev", t.RouterLinkInterface(i), "table", table);
            t.Ns.Exec(t.Router, "ip", "rule", "add", "from", BenchTopology.RouterLinkAddress(i), "table", table);
            if (i > 0)
            {
                t.Ns.Exec(t.Router, "ip", "mptcp", "endpoint", "add", BenchTopology.RouterLinkAddress(i), "dev", t.RouterLinkInterface(i), "subflow");
            }
        }
    }

    public TransferPlan Start(BenchTopology t) =>
        new(t.Proxy, BenchTopology.ProxyLinkAddress(0), t.Router, ["mptcpize", "run"],
            Enumerable.Range(0, t.Links).Select(i => (t.Router, BenchTopology.ProxyLinkAddress(i))).ToList(),
            Enumerable.Range(0, t.Links).ToList());

    public void Stop()
    {
    }
}
