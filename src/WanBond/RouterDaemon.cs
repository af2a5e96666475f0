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
    private ProxyResolver? _resolver;
    private ProxyAddressWatcher? _proxyWatcher;
    private Task? _deferred;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _gate = new(1, 1);

    public RouterDaemon(RouterConfig config, ILogger<RouterDaemon> log, IHostApplicationLifetime lifetime)
    {
        _config = config;
        _log = log;
        _lifetime = lifetime;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_config.InsecureNullTransport)
        {
            _log.LogWarning("INSECURE: insecure_null_transport is on ({Variable}=1): the tunnel is NOT encrypted or authenticated. Benchmark use only.", DaemonConfig.InsecureBenchmarkVariable);
        }
        _resolver = new ProxyResolver(_config.ProxyHost);
        IPAddress proxy;
        try
        {
            proxy = (await _resolver.ResolveAsync(cancellationToken)).Address;
        }
        catch (ProxyResolveException e)
        {
            // At boot the network (or DNS) may not be up yet: keep trying rather than exit; nothing is set up meanwhile.
            _log.LogWarning("{File}: proxy: {Error}; retrying (every {First} s at first, then every {Max} s); the tunnel, its routes and rules are set up once it resolves", _config.File, e.Message, RetryDelays[0].TotalSeconds, RetryDelays[^1].TotalSeconds);
            _deferred = Task.Run(() => ResolveThenSetUp(_stopping.Token), CancellationToken.None);
            return;
        }
        await SetUp(proxy);
    }

    /// <summary>Waits between lookups while the proxy's name does not resolve at start.</summary>
    internal static readonly TimeSpan[] RetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    private async Task ResolveThenSetUp(CancellationToken cancel)
    {
        for (var attempt = 0; ; attempt++)
        {
            IPAddress proxy;
            try
            {
                await Task.Delay(RetryDelays[Math.Min(attempt, RetryDelays.Length - 1)], cancel);
                proxy = (await _resolver!.ResolveAsync(cancel)).Address;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ProxyResolveException e)
            {
                if (attempt < 3 || attempt % 10 == 0)
                {
                    _log.LogWarning("{File}: proxy: {Error}; still retrying", _config.File, e.Message);
                }
                continue;
            }
            await _gate.WaitAsync(CancellationToken.None);
            try
            {
                if (cancel.IsCancellationRequested)
                {
                    return;
                }
                _log.LogInformation("the proxy's name {Host} resolves to {Address}", _config.ProxyHost, proxy);
                await SetUp(proxy);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogError("cannot start: {Error}", e.Message);
                Environment.ExitCode = 1;
                _lifetime.StopApplication();
            }
            finally
            {
                _gate.Release();
            }
            return;
        }
    }

    private async Task SetUp(IPAddress proxy)
    {
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
            _engine = new RouterEngine(options, _tun, _links, InetSocketAddress.From(new IPEndPoint(proxy, _config.ProxyPort)), _config.RestartAfterSeconds * 1_000_000L, _key, _config.ProxyPublicKey, _log, _config.InsecureNullTransport);
            _engine.Faulted += _ =>
            {
                Environment.ExitCode = 1;
                _lifetime.StopApplication();
            };
            _watcher = new LinkWatcher(_config.Links.Select(l => (l.Interface, l.Gateway)).ToList(), _links, _network, _engine, ipv6, _log);
            _watcher.Start();
            if (_resolver!.IsName)
            {
                var engine = _engine;
                _proxyWatcher = new ProxyAddressWatcher(_resolver, a => engine.SetProxy(new IPEndPoint(a, _config.ProxyPort)), _log)
                {
                    Interval = TimeSpan.FromSeconds(_config.ProxyResolveIntervalSeconds),
                };
                _engine.ProxySilent = _proxyWatcher.RequestNow;
                _proxyWatcher.Start();
            }
            _engine.Start();
            _control = new ControlServer(_config.ControlSocket, () => _engine.Status, _log);
            _control.Start();
            _log.LogInformation("router up: tunnel {Tun} (MTU {Mtu}), proxy {Proxy}, links {Links}, ChaCha20-Poly1305 by {Cipher}", _tun.Name, _config.InnerMtu, new IPEndPoint(proxy, _config.ProxyPort), string.Join(", ", _config.Links.Select(l => l.Interface)), _config.InsecureNullTransport ? "nobody (insecure_null_transport)" : WanBond.Core.Security.ChaChaPolySeal.Implementation);
        }
        catch
        {
            await Teardown();
            throw;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_deferred is not null)
        {
            await _deferred; // returns at once when cancelled, or after a set-up in progress
            _deferred = null;
        }
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            await Teardown();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task Teardown()
    {
        if (_network is null)
        {
            return; // never set up, or already stopped
        }
        if (_control is not null)
        {
            await _control.DisposeAsync();
            _control = null;
        }
        _proxyWatcher?.Dispose();
        _proxyWatcher = null;
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
