using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace WanBond.Linux.Network;

/// <summary>What the link watcher sees of one interface at one moment.</summary>
public sealed record LinkObservation(bool Present, int IfIndex, bool Up, string? Address, IPAddress? Gateway, bool PointToPoint)
{
    public static readonly LinkObservation Absent = new(false, 0, false, null, null, false);

    /// <summary>Can carry tunnel traffic: present, up, addressed, and with a way out (a gateway, or a point-to-point link).</summary>
    public bool Usable => Present && Up && Address is not null && (Gateway is not null || PointToPoint);

    public string Describe() =>
        !Present ? "interface absent"
        : !Up ? "interface down"
        : Address is null ? "no address"
        : Gateway is null && !PointToPoint ? $"{Address}, no default route on it (set a gateway for this link)"
        : Gateway is null ? Address
        : $"{Address} via {Gateway}";
}

/// <summary>
/// Reads interface state from /sys/class/net, addresses from getifaddrs, and each interface's default gateway
/// from /proc/net/route (IPv4) or /proc/net/ipv6_route: cheap enough to poll every 250 ms, no netlink needed.
/// </summary>
public sealed class LinkProbe
{
    private const int IffUp = 0x1;
    private const int IffPointToPoint = 0x10;
    private const int IffNoArp = 0x80;

    private readonly string _sysNet;
    private readonly string _procNet;

    public LinkProbe(string sysNet = "/sys/class/net", string procNet = "/proc/net")
    {
        _sysNet = sysNet;
        _procNet = procNet;
    }

    public LinkObservation[] ObserveAll(IReadOnlyList<(string Interface, IPAddress? Gateway)> links, bool ipv6)
    {
        var addresses = new Dictionary<string, string>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (var ua in nic.GetIPProperties().UnicastAddresses)
            {
                var a = ua.Address;
                if (ipv6 ? a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv6LinkLocal : a.AddressFamily == AddressFamily.InterNetwork)
                {
                    addresses.TryAdd(nic.Name, a.ToString());
                }
            }
        }
        var routes = ReadText(Path.Combine(_procNet, ipv6 ? "ipv6_route" : "route"));
        var result = new LinkObservation[links.Count];
        for (var i = 0; i < links.Count; i++)
        {
            result[i] = Observe(links[i].Interface, links[i].Gateway, addresses.GetValueOrDefault(links[i].Interface), routes, ipv6);
        }
        return result;
    }

    private LinkObservation Observe(string name, IPAddress? configuredGateway, string? address, string routes, bool ipv6)
    {
        var dir = Path.Combine(_sysNet, name);
        if (!Directory.Exists(dir) || !int.TryParse(ReadText(Path.Combine(dir, "ifindex")).Trim(), CultureInfo.InvariantCulture, out var ifindex))
        {
            return LinkObservation.Absent;
        }
        var flagsText = ReadText(Path.Combine(dir, "flags")).Trim();
        var flags = flagsText.StartsWith("0x", StringComparison.Ordinal) && int.TryParse(flagsText[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var f) ? f : 0;
        var operstate = ReadText(Path.Combine(dir, "operstate")).Trim();
        // "unknown" is what TUN, PPP and many wwan drivers report while working.
        var up = (flags & IffUp) != 0 && operstate is "up" or "unknown";
        var pointToPoint = (flags & (IffPointToPoint | IffNoArp)) != 0;
        var gateway = configuredGateway ?? (ipv6 ? DefaultGateway6(routes, name) : DefaultGateway4(routes, name));
        return new LinkObservation(true, ifindex, up, address, gateway, pointToPoint);
    }

    /// <summary>The lowest-metric default gateway of <paramref name="name"/> in /proc/net/route text.</summary>
    public static IPAddress? DefaultGateway4(string procNetRoute, string name)
    {
        IPAddress? best = null;
        var bestMetric = long.MaxValue;
        foreach (var line in procNetRoute.Split('\n').Skip(1))
        {
            var c = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
            if (c.Length < 8 || c[0] != name || c[1] != "00000000" || c[7] != "00000000")
            {
                continue;
            }
            if (!uint.TryParse(c[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var gw) || gw == 0
                || !long.TryParse(c[6], CultureInfo.InvariantCulture, out var metric) || metric >= bestMetric)
            {
                continue;
            }
            best = new IPAddress(gw); // the file holds it in host (little-endian) order, which is what this constructor takes
            bestMetric = metric;
        }
        return best;
    }

    /// <summary>The lowest-metric default gateway of <paramref name="name"/> in /proc/net/ipv6_route text.</summary>
    public static IPAddress? DefaultGateway6(string procNetIpv6Route, string name)
    {
        IPAddress? best = null;
        var bestMetric = long.MaxValue;
        foreach (var line in procNetIpv6Route.Split('\n'))
        {
            var c = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // dest destlen src srclen nexthop metric refcnt use flags iface
            if (c.Length < 10 || c[9] != name || c[1] != "00" || c[0] != new string('0', 32) || c[4] == new string('0', 32))
            {
                continue;
            }
            if (!long.TryParse(c[5], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var metric) || metric >= bestMetric)
            {
                continue;
            }
            var bytes = Convert.FromHexString(c[4]);
            best = new IPAddress(bytes);
            bestMetric = metric;
        }
        return best;
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
