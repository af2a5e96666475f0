using System.Net;
using System.Runtime.Versioning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WanBond.Linux.Config;
using WanBond.Linux.Control;
using WanBond.Linux.Datapath;
using WanBond.Linux.Native;
using WanBond.Linux.Network;

namespace WanBond.Cli;

/// <summary>`wanbond proxy`: one UDP port for every router and path, the TUN device, forwarding and NAT.</summary>
[SupportedOSPlatform("linux")]
internal sealed class ProxyDaemon : IHostedService, IAsyncDisposable
{
    private readonly ProxyConfig _config;
    private readonly ILogger _log;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly CommandRunner _runner = new();
    private ProxyNetwork? _network;
    private TunDevice? _tun;
    private FileDescriptor? _socket;
    private ProxyEngine? _engine;
    private ControlServer? _control;
    private WanBond.Core.Security.StaticKeyPair? _key;

    public ProxyDaemon(ProxyConfig config, ILogger<ProxyDaemon> log, IHostApplicationLifetime lifetime)
    {
        _config = config;
        _log = log;
        _lifetime = lifetime;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_config.InsecureNullTransport)
        {
            _log.LogWarning("INSECURE: insecure_null_transport is on ({Variable}=1): the tunnel is NOT encrypted or authenticated, and only routers with the same setting get in. Benchmark use only.", DaemonConfig.InsecureBenchmarkVariable);
        }
        // The state directory holds the control socket and saved sysctl values: root only, made so before anything goes in.
        Directory.CreateDirectory(Path.GetDirectoryName(_config.ControlSocket)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _network = new ProxyNetwork(_config, _runner, Path.GetDirectoryName(_config.ControlSocket)!);
        try
        {
            _network.Cleanup(_config.TunnelName);
            var v6 = _config.ListenAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
            _socket = SocketSyscalls.CreateUdp(v6 ? SocketSyscalls.AF_INET6 : SocketSyscalls.AF_INET, dualStack: v6 && _config.ListenAddress.Equals(IPAddress.IPv6Any));
            SocketSyscalls.SetBufferSizes(_socket, 8 << 20);
            MessageSyscalls.EnablePacketInfo(_socket, v6);
            SocketSyscalls.Bind(_socket, InetSocketAddress.From(new IPEndPoint(_config.ListenAddress, _config.Port)));
            _tun = TunDevice.Open(_config.TunnelName);
            _network.Setup(_tun.Name, _config.InnerMtu);
            _key = _config.ReadPrivateKey();
            if (_config.Peers.Count == 0)
            {
                _log.LogWarning("{File}: no peers: every router is refused (add one with wanbond init peer)", _config.File);
            }
            _engine = new ProxyEngine(_config.SessionOptions(1), _tun, _socket, _config.SessionIdleTimeoutSeconds * 1_000_000L, _key, _config.Peers, _log, _config.InsecureNullTransport);
            _engine.Faulted += _ =>
            {
                Environment.ExitCode = 1;
                _lifetime.StopApplication();
            };
            _engine.Start();
            _control = new ControlServer(_config.ControlSocket, () => _engine.Status, _log);
            _control.Start();
            _log.LogInformation("proxy up: UDP port {Port} on {Address}, tunnel {Tun} (MTU {Mtu}), public key {Key}, {Peers} peer(s), ChaCha20-Poly1305 by {Cipher}", _config.Port, _config.ListenAddress, _tun.Name, _config.InnerMtu, _key.PublicKey, _config.Peers.Count, _config.InsecureNullTransport ? "nobody (insecure_null_transport)" : WanBond.Core.Security.ChaChaPolySeal.Implementation);
        }
        catch
        {
            await StopAsync(CancellationToken.None);
            throw;
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
        _engine?.Dispose();
        _engine = null;
        _key?.Dispose();
        _key = null;
        _socket?.Dispose();
        _socket = null;
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
        _log.LogInformation("proxy stopped; nftables table and forwarding setting restored");
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);
}
