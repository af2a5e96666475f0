namespace WanBond.Testbed.Topology;

/// <summary>
/// client — router — N modems — proxy — server, each a network namespace. Each modem namespace
/// holds two veth ends with no address (a towards the router, b towards the proxy) and the link
/// emulator between them, so link i is a transparent wire from the router's 10.30.i.1 to the
/// proxy's 10.30.i.2. Client 10.20.0.2 — router 10.20.0.1 (LAN); proxy 10.40.0.1 — server 10.40.0.2.
/// </summary>
internal sealed class BenchTopology : IDisposable
{
    private BenchTopology(Namespaces ns, int links)
    {
        Ns = ns;
        Links = links;
        Client = $"{ns.Prefix}-cli";
        Router = $"{ns.Prefix}-rtr";
        Proxy = $"{ns.Prefix}-pxy";
        Server = $"{ns.Prefix}-srv";
        Modems = Enumerable.Range(0, links).Select(i => $"{ns.Prefix}-m{i}").ToArray();
    }

    public Namespaces Ns { get; }

    public int Links { get; }

    public string Client { get; }

    public string Router { get; }

    public string Proxy { get; }

    public string Server { get; }

    public IReadOnlyList<string> Modems { get; }

    public const string ClientAddress = "10.20.0.2";
    public const string RouterLanAddress = "10.20.0.1";
    public const string ProxyServerSideAddress = "10.40.0.1";
    public const string ServerAddress = "10.40.0.2";

    public string RouterLinkInterface(int i) => $"{Ns.Prefix}l{i}";

    public string ProxyLinkInterface(int i) => $"{Ns.Prefix}p{i}";

    public string ModemRouterSide(int i) => $"{Ns.Prefix}a{i}";

    public string ModemProxySide(int i) => $"{Ns.Prefix}b{i}";

    public string RouterLanInterface => $"{Ns.Prefix}r";

    public string ProxyServerInterface => $"{Ns.Prefix}s";

    public static string RouterLinkAddress(int i) => $"10.30.{i}.1";

    public static string ProxyLinkAddress(int i) => $"10.30.{i}.2";

    /// <summary>Builds the namespaces and wires; on any failure tears down what it made.</summary>
    public static BenchTopology Create(Namespaces ns, int links, bool ends = true)
    {
        var t = new BenchTopology(ns, links);
        try
        {
            t.Build(ends);
            return t;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private void Build(bool ends)
    {
        Ns.Add("rtr");
        Ns.Add("pxy");
        for (int i = 0; i < Links; i++)
        {
            string m = Ns.Add($"m{i}");
            // The modem namespace must never answer or route these packets itself: no addresses, no forwarding.
            Ns.Sysctl(m, "net.ipv4.ip_forward", "0");
            Ns.Veth(Router, RouterLinkInterface(i), m, ModemRouterSide(i));
            Ns.Veth(m, ModemProxySide(i), Proxy, ProxyLinkInterface(i));
            foreach (var (n, iface) in new[] { (Router, RouterLinkInterface(i)), (m, ModemRouterSide(i)), (m, ModemProxySide(i)), (Proxy, ProxyLinkInterface(i)) })
            {
                Ns.PlainFrames(n, iface);
            }
            Ns.Exec(Router, "ip", "addr", "add", RouterLinkAddress(i) + "/24", "dev", RouterLinkInterface(i));
            Ns.Exec(Proxy, "ip", "addr", "add", ProxyLinkAddress(i) + "/24", "dev", ProxyLinkInterface(i));
        }
        if (!ends)
        {
            return;
        }
        Ns.Add("cli");
        Ns.Add("srv");
        Ns.Veth(Client, $"{Ns.Prefix}c", Router, RouterLanInterface);
        Ns.Exec(Client, "ip", "addr", "add", ClientAddress + "/24", "dev", $"{Ns.Prefix}c");
        Ns.Exec(Router, "ip", "addr", "add", RouterLanAddress + "/24", "dev", RouterLanInterface);
        Ns.Exec(Client, "ip", "route", "add", "default", "via", RouterLanAddress);
        Ns.Veth(Proxy, ProxyServerInterface, Server, $"{Ns.Prefix}v");
        Ns.Exec(Proxy, "ip", "addr", "add", ProxyServerSideAddress + "/24", "dev", ProxyServerInterface);
        Ns.Exec(Server, "ip", "addr", "add", ServerAddress + "/24", "dev", $"{Ns.Prefix}v");
        Ns.Exec(Server, "ip", "route", "add", "default", "via", ProxyServerSideAddress);
    }

    /// <summary>Starts one emulator per link (a fresh trace clock for every measurement).</summary>
    public List<EmulatorProcess> StartEmulators(IReadOnlyList<EmulatedLink> links, string statsDir, double maxSeconds, ulong seed)
    {
        var list = new List<EmulatorProcess>();
        try
        {
            for (int i = 0; i < links.Count; i++)
            {
                list.Add(EmulatorProcess.Start(Ns, Modems[i], ModemRouterSide(i), ModemProxySide(i), links[i],
                    Path.Combine(statsDir, $"link{i}.csv"), maxSeconds, seed + (ulong)i));
            }
            return list;
        }
        catch
        {
            foreach (var e in list)
            {
                e.Dispose();
            }
            throw;
        }
    }

    public void Dispose() => Ns.Dispose();
}
