using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WanBond.Linux.Config;
using WanBond.Linux.Control;
using WanBond.Linux.Datapath;
using WanBond.Linux.Native;
using WanBond.Linux.Network;

namespace WanBond.Cli;

/// <summary>
/// `wanbond router`: opens the TUN device, sets up routing, opens one socket per link and runs the engine.
/// Start is all-or-nothing: a failure part-way undoes what was done. Stop undoes everything.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class RouterDaemon : IHostedService, IAsyncDisposable
{
    private readonly RouterConfig _config;
    private readonly ILogger _log;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly CommandRunner _runner = new();
    private RouterNetwork? _network;
    private TunDevice? _tun;
    private LinkSocket[] _links = [];
    private RouterEngine? _engine;
    private LinkWatcher? _watcher;
    private ControlServer? _control;
    private WanBond.Core.Security.StaticKeyPair? _key;

    public RouterDaemon(RouterConfig config, ILogger<RouterDaemon> log, IHostApplicationLifetime lifetime)
    {
        _config = config;
        _log = log;
        _lifetime = lifetime;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var proxy = await ResolveProxy(cancellationToken);
        var ipv6 = proxy.AddressFamily == AddressFamily.InterNetworkV6;
        // The state directory holds the control socket and saved sysctl values: root only, made so before anything goes in.
        Directory.CreateDirectory(Path.GetDirectoryName(_config.ControlSocket)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _network = new RouterNetwork(_config, _runner, ipv6, Path.GetDirectoryName(_config.ControlSocket)!);
        try
        {
            _network.Cleanup(_config.TunnelName); // repairs what a crashed run left behind
            _tun = TunDevice.Open(_config.TunnelName);
            var options = _config.SessionOptions(_config.Links.Count);
            _network.Setup(_tun.Name, _config.InnerMtu);
            _links = new LinkSocket[_config.Links.Count];
            for (var i = 0; i < _links.Length; i++)
            {
                _links[i] = new LinkSocket(i, _config.Links[i].Interface, ipv6 ? SocketSyscalls.AF_INET6 : SocketSyscalls.AF_INET);
            }
            _key = _config.ReadPrivateKey();
            _engine = new RouterEngine(options, _tun, _links, InetSocketAddress.From(new IPEndPoint(proxy, _config.ProxyPort)), _config.RestartAfterSeconds * 1_000_000L, _key, _config.ProxyPublicKey, _log);
            _engine.Faulted += _ =>
            {
                Environment.ExitCode = 1;
                _lifetime.StopApplication();
            };
            _watcher = new LinkWatcher(_config.Links.Select(l => (l.Interface, l.Gateway)).ToList(), _links, _network, _engine, ipv6, _log);
            _watcher.Start();
            _engine.Start();
            _control = new ControlServer(_config.ControlSocket, () => _engine.Status, _log);
            _control.Start();
            _log.LogInformation("router up: tunnel {Tun} (MTU {Mtu}), proxy {Proxy}:{Port}, links {Links}", _tun.Name, _config.InnerMtu, proxy, _config.ProxyPort, string.Join(", ", _config.Links.Select(l => l.Interface)));
        }
        catch
        {
            await StopAsync(CancellationToken.None);
            throw;
        }
    }

    private async Task<IPAddress> ResolveProxy(CancellationToken cancel)
    {
        if (IPAddress.TryParse(_config.ProxyHost, out var literal))
        {
            return literal;
        }
        try
        {
            var all = await Dns.GetHostAddressesAsync(_config.ProxyHost, cancel);
            return all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.First();
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException)
        {
            throw new NetworkSetupException($"cannot resolve the proxy's name '{_config.ProxyHost}': {e.Message}");
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_network is null)
        {
            return; // already stopped
        }
        if (_control is not null)
        {
            await _control.DisposeAsync();
            _control = null;
        }
        _watcher?.Dispose();
        _watcher = null;
        _engine?.Dispose();
        _engine = null;
        _key?.Dispose();
        _key = null;
        foreach (var l in _links)
        {
            l.Dispose();
        }
        _links = [];
        var tunName = _tun?.Name ?? _config.TunnelName;
        _tun?.Dispose();
        _tun = null;
        try
        {
            _network?.Cleanup(tunName);
        }
        catch (NetworkSetupException e)
        {
            _log.LogError("cleanup: {Error}", e.Message);
        }
        _network = null;
        _log.LogInformation("router stopped; routes, rules and nftables table removed");
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);
}
