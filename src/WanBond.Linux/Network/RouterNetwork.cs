using System.Globalization;
using System.Net;
using System.Text.Json;
using WanBond.Linux.Config;

namespace WanBond.Linux.Network;

/// <summary>
/// The router's routing, all of it in numbers wanbond owns, so that stop (and the next start after a crash)
/// removes exactly what was added:
/// <list type="bullet">
/// <item>table T+1+i holds link i's way out (default via its gateway); rule priority P+i sends what a socket bound
/// to that link's interface (oif) sends through it — this keeps the proxy reachable over every link;</item>
/// <item>table T holds "default dev TUN"; rule P+40 consults the main table for everything but its default route
/// (LAN and link subnets stay local), rule P+41 sends the rest into the tunnel (or only the LAN's, with
/// default_route: false);</item>
/// <item>the `inet wanbond` nftables table masquerades LAN clients into the tunnel and clamps TCP MSS;</item>
/// <item>IP forwarding, when a LAN is configured, restored to its previous value at stop.</item>
/// </list>
/// </summary>
public sealed class RouterNetwork
{
    public const int SuppressOffset = 40;
    public const int TunnelOffset = 41;

    private readonly RouterConfig _config;
    private readonly CommandRunner _runner;
    private readonly SysctlState _sysctl;
    private readonly string _family;
    private readonly string _sysctlRoot;
    private volatile bool _keepAcceptingRa;

    public RouterNetwork(RouterConfig config, CommandRunner runner, bool proxyIsIPv6, string stateDirectory = "/run/wanbond", string sysctlRoot = "/proc/sys")
    {
        _config = config;
        _runner = runner;
        _family = proxyIsIPv6 ? "-6" : "-4";
        _sysctlRoot = sysctlRoot;
        _sysctl = new SysctlState(Path.Combine(stateDirectory, "router.sysctl"), sysctlRoot);
    }

    public int LinkTable(int link) => _config.RoutingTable + 1 + link;

    public int LinkRulePriority(int link) => _config.RulePriority + link;

    private static string S(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>Applies everything; on any failure removes what was applied and rethrows.</summary>
    public void Setup(string tunnelName, int innerMtu)
    {
        try
        {
            TunnelInterface.Configure(_runner, tunnelName, innerMtu, _config.TunnelAddress, _config.TunnelAddress6);
            for (var i = 0; i < _config.Links.Count; i++)
            {
                _runner.Run("ip", _family, "rule", "add", "priority", S(LinkRulePriority(i)), "oif", _config.Links[i].Interface, "lookup", S(LinkTable(i)));
            }
            var families = _config.TunnelAddress6 is null ? new[] { "-4" } : ["-4", "-6"];
            foreach (var f in families)
            {
                _runner.Run("ip", f, "route", "replace", "default", "dev", tunnelName, "table", S(_config.RoutingTable));
                if (_config.DefaultRoute)
                {
                    _runner.Run("ip", f, "rule", "add", "priority", S(_config.RulePriority + SuppressOffset), "lookup", "main", "suppress_prefixlength", "0");
                    _runner.Run("ip", f, "rule", "add", "priority", S(_config.RulePriority + TunnelOffset), "lookup", S(_config.RoutingTable));
                }
                else
                {
                    foreach (var lan in _config.Lan)
                    {
                        _runner.Run("ip", f, "rule", "add", "priority", S(_config.RulePriority + TunnelOffset), "iif", lan, "lookup", S(_config.RoutingTable));
                    }
                }
            }
            if (_config.Masquerade || _config.MssClamp)
            {
                Nftables.Apply(_runner, Nftables.Ruleset(tunnelName, masqueradeOut: _config.Masquerade, masqueradeFromTunnel: false, _config.MssClamp, innerMtu));
            }
            if (_config.Lan.Count > 0)
            {
                _sysctl.Set("net/ipv4/ip_forward", "1");
                if (_config.TunnelAddress6 is not null)
                {
                    _sysctl.Set("net/ipv6/conf/all/forwarding", "1");
                    // The links reach the proxy over IPv6: their addresses and default routes usually come from router
                    // advertisements, which Linux ignores on a forwarding interface unless accept_ra is 2.
                    _keepAcceptingRa = _family == "-6";
                    foreach (var link in _config.Links)
                    {
                        KeepAcceptingRouterAdvertisements(link.Interface);
                    }
                }
            }
        }
        catch
        {
            Cleanup(tunnelName: null);
            throw;
        }
    }

    /// <summary>
    /// With IPv6 forwarding on and the proxy reached over IPv6: accept_ra 1 → 2 on the link's interface (saved and
    /// restored like the other settings), so the link keeps its RA-learned address and default route. Called at
    /// set-up and whenever the interface (re)appears. Does nothing otherwise, or when the interface is absent.
    /// </summary>
    public void KeepAcceptingRouterAdvertisements(string interfaceName)
    {
        if (!_keepAcceptingRa)
        {
            return;
        }
        var key = $"net/ipv6/conf/{interfaceName}/accept_ra";
        try
        {
            if (File.ReadAllText(Path.Combine(_sysctlRoot, key)).Trim() == "1")
            {
                _sysctl.Set(key, "2");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // interface absent (or without IPv6): it gets the setting when it appears
        }
    }

    /// <summary>
    /// Points link <paramref name="link"/>'s table at its current way out. Called by the link watcher whenever the
    /// interface appears or its gateway changes (the kernel drops the route itself when the interface goes).
    /// </summary>
    public void SetLinkRoute(int link, string interfaceName, IPAddress? gateway)
    {
        if (gateway is null)
        {
            _runner.Run("ip", _family, "route", "replace", "default", "dev", interfaceName, "table", S(LinkTable(link)));
        }
        else
        {
            _runner.Run("ip", _family, "route", "replace", "default", "via", gateway.ToString(), "dev", interfaceName, "onlink", "table", S(LinkTable(link)));
        }
    }

    /// <summary>Removes every rule, route and table entry, the nft table and the sysctl changes wanbond owns. Idempotent; never throws for what is already gone.</summary>
    public void Cleanup(string? tunnelName)
    {
        var first = _config.RulePriority;
        var last = _config.RulePriority + TunnelOffset;
        foreach (var f in new[] { "-4", "-6" })
        {
            DeleteRules(_runner, f, first, last);
            for (var t = _config.RoutingTable; t <= _config.RoutingTable + RouterConfig.MaxLinks; t++)
            {
                _runner.TryRun("ip", [f, "route", "flush", "table", S(t)]);
            }
        }
        Nftables.Remove(_runner);
        if (tunnelName is not null)
        {
            TunnelInterface.RemoveStale(_runner, tunnelName);
        }
        _sysctl.Restore();
    }

    /// <summary>Deletes every policy rule whose priority lies in [first, last].</summary>
    public static void DeleteRules(CommandRunner runner, string family, int first, int last)
    {
        var (code, output, _) = runner.TryRun("ip", ["-j", family, "rule", "show"]);
        if (code != 0 || string.IsNullOrWhiteSpace(output))
        {
            return;
        }
        foreach (var priority in RulePriorities(output))
        {
            if (priority >= first && priority <= last)
            {
                runner.TryRun("ip", [family, "rule", "del", "priority", S(priority)]);
            }
        }
    }

    /// <summary>The priority of each rule in `ip -j rule show` output, one entry per rule.</summary>
    public static List<int> RulePriorities(string json)
    {
        var result = new List<int>();
        using var doc = JsonDocument.Parse(json);
        foreach (var rule in doc.RootElement.EnumerateArray())
        {
            if (rule.TryGetProperty("priority", out var p) && p.TryGetInt32(out var priority))
            {
                result.Add(priority);
            }
        }
        return result;
    }
}
