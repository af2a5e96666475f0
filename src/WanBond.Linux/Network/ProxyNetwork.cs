using WanBond.Linux.Config;

namespace WanBond.Linux.Network;

/// <summary>
/// The proxy's set-up: the tunnel's address, IP forwarding (previous value restored at stop), and the
/// `inet wanbond` nftables table that masquerades tunnel traffic to the internet and clamps TCP MSS.
/// </summary>
public sealed class ProxyNetwork
{
    private readonly ProxyConfig _config;
    private readonly CommandRunner _runner;
    private readonly SysctlState _sysctl;

    public ProxyNetwork(ProxyConfig config, CommandRunner runner, string stateDirectory = "/run/wanbond", string sysctlRoot = "/proc/sys")
    {
        _config = config;
        _runner = runner;
        _sysctl = new SysctlState(Path.Combine(stateDirectory, "proxy.sysctl"), sysctlRoot);
    }

    public void Setup(string tunnelName, int innerMtu)
    {
        try
        {
            TunnelInterface.Configure(_runner, tunnelName, innerMtu, _config.TunnelAddress, _config.TunnelAddress6);
            _sysctl.Set("net/ipv4/ip_forward", "1");
            if (_config.TunnelAddress6 is not null)
            {
                _sysctl.Set("net/ipv6/conf/all/forwarding", "1");
            }
            if (_config.Masquerade || _config.MssClamp)
            {
                Nftables.Apply(_runner, Nftables.Ruleset(tunnelName, masqueradeOut: false, masqueradeFromTunnel: _config.Masquerade, _config.MssClamp, innerMtu));
            }
        }
        catch
        {
            Cleanup(tunnelName: null);
            throw;
        }
    }

    public void Cleanup(string? tunnelName)
    {
        Nftables.Remove(_runner);
        if (tunnelName is not null)
        {
            TunnelInterface.RemoveStale(_runner, tunnelName);
        }
        _sysctl.Restore();
    }
}
