using Microsoft.Extensions.Logging;
using WanBond.Core.Buffers;
using WanBond.Core.Security;
using WanBond.Core.Sessions;
using WanBond.Core.Wire;
using WanBond.Linux.Control;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// The router's datapath: the TUN device and one socket per link feed one initiator session; the
/// session's datagrams leave on the socket of the path it chose, its in-order packets go to the TUN.
/// The session opens with a Noise IK handshake to the proxy's public key and seals everything it sends.
/// </summary>
public sealed class RouterEngine : EngineLoop
{
    private readonly SessionOptions _options;
    private readonly TunDevice _tun;
    private readonly LinkSocket[] _links;
    private readonly ReceiveLoop[] _receivers;
    private readonly PathMeter[] _meters;
    private readonly int[] _desiredUp;
    private readonly bool[] _appliedUp;
    private readonly string?[] _addresses;
    private readonly long _restartAfterUs;
    private readonly StaticKeyPair _key;
    private readonly StaticPublicKey _proxyKey;
    private readonly byte[] _out = new byte[PacketBuffer.Capacity];
    private readonly byte[] _inner = new byte[PacketBuffer.Capacity];
    private readonly bool _insecureNullTransport;
    private InetSocketAddress _proxy;
    private System.Net.IPEndPoint? _newProxy;
    private Session _session;
    private long _lastReceiveUs;
    private long _lastSilenceSignalUs;
    private long _establishedAtUs = -1;
    private readonly SecurityStatus _ended = new(); // counters of sessions replaced

    /// <param name="restartAfterUs">With every path silent this long, the session starts over (the proxy may have restarted and forgotten it).</param>
    /// <param name="insecureNullTransport">Benchmark only: the null seal after the handshake (both ends must agree).</param>
    public RouterEngine(SessionOptions options, TunDevice tun, LinkSocket[] links, InetSocketAddress proxy, long restartAfterUs, StaticKeyPair key, StaticPublicKey proxyKey, ILogger log, bool insecureNullTransport = false)
        : base("engine", log)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        _insecureNullTransport = insecureNullTransport;
        _proxyKey = proxyKey;
        _options = options;
        _tun = tun;
        _links = links;
        _proxy = proxy;
        _restartAfterUs = restartAfterUs;
        _meters = new PathMeter[links.Length];
        _desiredUp = new int[links.Length];
        _appliedUp = new bool[links.Length];
        _addresses = new string?[links.Length];
        _receivers = new ReceiveLoop[links.Length + 1];
        for (var i = 0; i < links.Length; i++)
        {
            _meters[i] = new PathMeter();
            _appliedUp[i] = true; // a new Session starts with every link present
            var link = links[i];
            _receivers[i] = new ReceiveLoop(link.InterfaceName, () => link.Descriptor, isSocket: true, i, Inbox, log);
        }
        _receivers[^1] = new ReceiveLoop(tun.Name, () => tun.Descriptor, isSocket: false, Inbox.FromTun, Inbox, log);
        var now = MonotonicClock.NowUs;
        _session = NewSession(now);
        _lastReceiveUs = now;
    }

    public int InnerMtu => _session.InnerMtu;

    public override void Start()
    {
        foreach (var r in _receivers)
        {
            r.Start();
        }
        base.Start();
    }

    /// <summary>From the link watcher: the link can (or can no longer) carry traffic. Any thread.</summary>
    public void SetLinkUp(int link, bool up, string? address)
    {
        Volatile.Write(ref _addresses[link], address);
        Volatile.Write(ref _desiredUp[link], up ? 1 : 0);
        Wake();
    }

    /// <summary>
    /// Called on the engine thread when nothing has come from the proxy on any link for the restart interval
    /// (the daemon resolves the proxy's name again: a VPS that moved looks exactly like this).
    /// </summary>
    public Action? ProxySilent { get; set; }

    /// <summary>The proxy moved (its name resolves to a new address): the engine opens a new session there. Any thread.</summary>
    public void SetProxy(System.Net.IPEndPoint proxy)
    {
        Volatile.Write(ref _newProxy, proxy);
        Wake();
    }

    private Session NewSession(long nowUs)
    {
        // Initiation timestamps start at the wall clock so they keep increasing across restarts (the proxy refuses older ones).
        var wallClockUs = (ulong)((DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10);
        var security = SessionSecurity.ForInitiator(_key, _proxyKey, wallClockUs);
        var s = new Session(_options, _insecureNullTransport ? security.WithInsecureNullTransport() : security, SessionRole.Initiator, nowUs);
        for (var i = 0; i < _appliedUp.Length; i++)
        {
            _appliedUp[i] = true;
        }
        _establishedAtUs = -1;
        return s;
    }

    protected override void Process(InboundItem item, long nowUs)
    {
        if (item.Source == Inbox.FromTun)
        {
            _session.SubmitInner(item.Span, nowUs);
            return;
        }
        _meters[item.Source].BytesReceived += item.Length;
        _lastReceiveUs = nowUs;
        _session.ReceiveDatagram(item.Source, item.Span, nowUs);
    }

    protected override void Tick(long nowUs)
    {
        for (var i = 0; i < _links.Length; i++)
        {
            var up = Volatile.Read(ref _desiredUp[i]) == 1;
            if (up != _appliedUp[i])
            {
                _appliedUp[i] = up;
                _session.SetPathUp(i, up, nowUs);
            }
        }
        if (Interlocked.Exchange(ref _newProxy, null) is { } moved)
        {
            _proxy = InetSocketAddress.From(moved);
            Log.LogInformation("proxy address now {Proxy}: starting a new session there", moved);
            _session.ReleaseKeys();
            _session = NewSession(nowUs);
            _lastReceiveUs = nowUs;
        }
        if (nowUs - _lastReceiveUs > _restartAfterUs && nowUs - _lastSilenceSignalUs > _restartAfterUs)
        {
            _lastSilenceSignalUs = nowUs;
            ProxySilent?.Invoke();
        }
        if (nowUs - _lastReceiveUs > _restartAfterUs && _session.IsEstablished)
        {
            Log.LogWarning("no answer from the proxy on any link for {Seconds} s: starting a new session", _restartAfterUs / 1_000_000);
            _ended.AddSession(_session);
            _session.ReleaseKeys();
            _session = NewSession(nowUs);
            _lastReceiveUs = nowUs;
            Tick(nowUs);
            return;
        }
        if (_session.NextTimeoutUs <= nowUs)
        {
            _session.HandleTimeout(nowUs);
        }
        if (_session.HandshakeGaveUp)
        {
            Log.LogError("the proxy answered no handshake for {Seconds} s: keys dropped, starting a new session", _session.Keys!.Policy.RekeyAttemptUs / 1_000_000);
            _ended.AddSession(_session);
            _session.ReleaseKeys();
            _session = NewSession(nowUs);
            _lastReceiveUs = nowUs;
        }
        while (_session.TryPollDatagram(nowUs, _out, out var length, out var path))
        {
            _links[path].Send(_out.AsSpan(0, length), ref _proxy);
        }
        while (_session.TryPollInner(_inner, out var length))
        {
            _tun.Write(_inner.AsSpan(0, length));
        }
        if (_establishedAtUs < 0 && _session.IsEstablished)
        {
            _establishedAtUs = nowUs;
            Log.LogInformation("session {Local:x8} established with the proxy (peer {Peer:x8})", _session.LocalSessionId, _session.PeerSessionId);
        }
    }

    protected override long NextTimeoutUs => _session.NextTimeoutUs;

    protected override StatusReport BuildStatus(long nowUs, double intervalS)
    {
        var s = _session;
        var session = new SessionStatus
        {
            LocalId = s.LocalSessionId,
            PeerId = s.PeerSessionId,
            Established = s.IsEstablished,
            UptimeSeconds = _establishedAtUs >= 0 && s.IsEstablished ? (nowUs - _establishedAtUs) / 1e6 : 0,
            SendQueueBytes = s.SendQueueBytes,
            SendQueueDrops = s.SendQueueDrops,
            ReorderSkipped = s.ReorderSkipped,
            ExpressSent = s.ExpressSent,
            ExpressReleased = s.ExpressReleased,
            HoldBoundMs = s.HoldBoundUs / 1000.0,
            DatagramsDropped = s.Drops.Total,
        };
        for (var i = 0; i < _links.Length; i++)
        {
            var stats = s.GetPathStats(i);
            var link = _meters[i].Measure(stats, intervalS);
            link.Name = _links[i].InterfaceName;
            link.Address = Volatile.Read(ref _addresses[i]);
            link.State = !_appliedUp[i] ? "absent" : stats.IsUp ? "up" : "down";
            session.Links.Add(link);
        }
        PathMeter.FillShares(session.Links, _meters, i => s.GetPathStats(i).DataBytesSent);
        return new StatusReport
        {
            Role = "router",
            Tunnel = _tun.Name,
            UptimeSeconds = (nowUs - StartedUs) / 1e6,
            InboxDropped = Inbox.Dropped,
            TunWriteErrors = _tun.WriteErrors,
            Sessions = [session],
            Unencrypted = _insecureNullTransport,
            Security = SecurityOf(s).Plus(_ended),
        };
    }

    private static SecurityStatus SecurityOf(Session s)
    {
        var security = new SecurityStatus();
        security.AddSession(s);
        return security;
    }

    public override void Stop()
    {
        foreach (var r in _receivers)
        {
            r.Stop();
        }
        base.Stop();
        foreach (var r in _receivers)
        {
            r.Dispose();
        }
        _session.ReleaseKeys();
    }
}
