using Microsoft.Extensions.Logging;
using WanBond.Core.Buffers;
using WanBond.Core.Security;
using WanBond.Core.Sessions;
using WanBond.Core.Wire;
using WanBond.Linux.Config;
using WanBond.Linux.Control;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// The proxy's datapath: one UDP socket for every router and path. A datagram finds its session by the
/// receiver index in its header (one per live key pair), never by its source address; each path's reply
/// address is simply where that path's last authentic datagram came from, so NAT rebinding on a modem costs
/// nothing. Handshake initiations go through the denial-of-service gate of docs/security.md before any
/// per-peer state exists; a router is let in only by its configured public key, and its decrypted packets
/// only with an inner source address inside its allowed prefixes (cryptokey routing).
/// Inner packets from the TUN go to the session of the router whose addresses contain their destination.
/// </summary>
public sealed class ProxyEngine : EngineLoop
{
    private readonly SessionOptions _options;
    private readonly TunDevice _tun;
    private readonly FileDescriptor _socket;
    private readonly long _idleTimeoutUs;
    private readonly ReceiveLoop[] _receivers;
    private readonly HandshakeResponder _responder;
    private readonly HandshakeRateLimiter _limiter = new();
    private readonly HandshakeLoadDetector _load = new();
    private readonly Dictionary<StaticPublicKey, ProxyPeer> _peers = [];
    private readonly Dictionary<uint, ProxySession> _byIndex = [];
    private readonly Dictionary<UInt128, ProxySession> _byInnerAddress = [];
    private readonly List<ProxySession> _sessions = [];
    private readonly byte[] _out = new byte[PacketBuffer.Capacity];
    private readonly byte[] _inner = new byte[PacketBuffer.Capacity];
    private readonly uint[] _retired = new uint[8];
    private readonly DropCounters _drops = new(); // datagrams dropped before any session saw them
    private readonly SecurityStatus _ended = new(); // counters of sessions that ended
    private long _lastSweepUs;

    private readonly bool _insecureNullTransport;

    /// <param name="insecureNullTransport">Benchmark only: the null seal after the handshake (both ends must agree).</param>
    public ProxyEngine(SessionOptions options, TunDevice tun, FileDescriptor socket, long idleTimeoutUs, StaticKeyPair key, IReadOnlyList<PeerConfig> peers, ILogger log, bool insecureNullTransport = false)
        : base("engine", log)
    {
        ArgumentNullException.ThrowIfNull(peers);
        _options = options;
        _tun = tun;
        _socket = socket;
        _idleTimeoutUs = idleTimeoutUs;
        _insecureNullTransport = insecureNullTransport;
        _responder = new HandshakeResponder(key, insecureNullTransport);
        foreach (var p in peers)
        {
            _peers.Add(p.PublicKey, new ProxyPeer(p.Name, p.AllowedIps.Select(AllowedPrefix.From).ToArray()));
        }
        _receivers =
        [
            new ReceiveLoop("udp", () => socket, isSocket: true, Inbox.FromSocket, Inbox, log, packetInfo: true),
            new ReceiveLoop(tun.Name, () => tun.Descriptor, isSocket: false, Inbox.FromTun, Inbox, log),
        ];
    }

    /// <summary>Datagrams that named no live key index, or were not a type the proxy takes.</summary>
    public long UnknownSession { get; private set; }

    /// <summary>Initiations that failed mac1, decryption or parsing.</summary>
    public long HandshakesRejected { get; private set; }

    /// <summary>Valid initiations from a key that is not among the peers.</summary>
    public long UnknownPeer { get; private set; }

    /// <summary>Initiations not newer than the peer's last accepted one (replays, copies on other paths).</summary>
    public long InitiationsReplayed { get; private set; }

    /// <summary>Initiations over the per-source rate.</summary>
    public long HandshakesRateLimited { get; private set; }

    /// <summary>Cookie replies sent (under load).</summary>
    public long CookiesSent { get; private set; }

    /// <summary>Inner packets dropped because their source address is outside their router's allowed prefixes.</summary>
    public long ForbiddenSource { get; private set; }

    /// <summary>Inner packets from the TUN whose destination belongs to no router.</summary>
    public long Unroutable { get; private set; }

    public override void Start()
    {
        foreach (var r in _receivers)
        {
            r.Start();
        }
        base.Start();
    }

    protected override void Process(InboundItem item, long nowUs)
    {
        if (item.Source == Inbox.FromTun)
        {
            var target = InnerPacket.TryGetDestination(item.Span, out var dst) ? FindOwner(dst) : null;
            if (target is null)
            {
                Unroutable++;
                return;
            }
            target.Session.SubmitInner(item.Span, nowUs);
            return;
        }
        var datagram = item.Span;
        if (!ClearHeader.TryParse(datagram, out var header, out var malformed))
        {
            UnknownSession++;
            _drops.Increment(malformed);
            return;
        }
        if (header.Type == PacketType.HandshakeInitiation)
        {
            ReceiveInitiation(item, header, nowUs);
            return;
        }
        if (!header.Type.IsSessionTraffic()
            || !_byIndex.TryGetValue(header.ReceiverSessionId, out var ps))
        {
            UnknownSession++;
            _drops.Increment(DropReason.UnknownSession);
            return;
        }
        var dropsBefore = ps.Session.Drops.Total;
        ps.Session.ReceiveDatagram(-1, datagram, nowUs);
        if (ps.Session.Drops.Total == dropsBefore && header.PathId < ps.Remotes.Length)
        {
            // Authentic and new: this is where the path's replies go from now on.
            ps.Remotes[header.PathId] = item.From;
            ps.Locals[header.PathId] = item.To;
            ps.Meters[header.PathId].BytesReceived += datagram.Length;
            ps.LastReceiveUs = nowUs;
        }
        DrainRetired(ps);
    }

    private ProxySession? FindOwner(UInt128 destination)
    {
        if (_byInnerAddress.TryGetValue(destination, out var owner))
        {
            return owner;
        }
        foreach (var peer in _peers.Values)
        {
            if (peer.Session is { } s && peer.Allows(destination))
            {
                return s;
            }
        }
        return null;
    }

    /// <summary>The order of docs/security.md: cookie gate (hashes), rate limit (a lookup), then the DH, then the peer.</summary>
    private void ReceiveInitiation(InboundItem item, ClearHeader header, long nowUs)
    {
        var datagram = item.Span;
        Span<byte> cookieSource = stackalloc byte[18];
        var limiterSource = SourceKeys(item.From, cookieSource);
        var underLoad = _load.RecordMessage(nowUs);
        switch (_responder.Cookies.Check(datagram, cookieSource, underLoad, nowUs))
        {
            case MacCheck.Invalid:
                HandshakesRejected++;
                _drops.Increment(DropReason.AuthenticationFailed);
                return;
            case MacCheck.CookieRequired:
                var n = _responder.Cookies.WriteCookieReply(datagram, cookieSource, _out, nowUs);
                Send(_out.AsSpan(0, n), item.From, item.To);
                CookiesSent++;
                return;
        }
        if (!_limiter.Allow(limiterSource, nowUs))
        {
            HandshakesRateLimited++;
            return;
        }
        if (!_responder.TryReadInitiation(datagram, out var hs, out var refused) || hs is null)
        {
            HandshakesRejected++;
            _drops.Increment(refused);
            return;
        }
        using (hs)
        {
            if (!_peers.TryGetValue(hs.InitiatorStatic, out var peer))
            {
                UnknownPeer++;
                Log.LogDebug("handshake from unknown key {Key} at {Source}: refused", hs.InitiatorStatic, item.From);
                return;
            }
            if (hs.PathCount is 0 or > 32 || !peer.ReplayGuard.TryAdvance(hs.Timestamp))
            {
                InitiationsReplayed++;
                _drops.Increment(DropReason.Duplicate);
                return;
            }
            var ps = peer.Session;
            var opens = header.PacketNumber == Session.InitiationOpensSession;
            if (ps is null && !opens)
            {
                // A rekey of a session this proxy does not know (it restarted): the router starts a new one after its silence timeout.
                UnknownSession++;
                _drops.Increment(DropReason.UnknownSession);
                return;
            }
            if (ps is null || opens || ps.Session.PathCount != hs.PathCount)
            {
                if (ps is not null)
                {
                    Log.LogInformation("{Peer}: new session replaces the previous one", peer.Name);
                    RemoveSession(ps);
                }
                ps = NewSession(peer, hs.PathCount, nowUs);
            }
            uint index;
            do
            {
                index = TransportKeys.RandomIndex();
            }
            while (_byIndex.ContainsKey(index));
            var length = ps.Session.AcceptHandshake(hs, index, _out, nowUs);
            _byIndex[index] = ps;
            DrainRetired(ps);
            ps.Remotes[hs.PathId] = item.From;
            ps.Locals[hs.PathId] = item.To;
            ps.LastReceiveUs = nowUs;
            Send(_out.AsSpan(0, length), item.From, item.To);
        }
    }

    private ProxySession NewSession(ProxyPeer peer, int pathCount, long nowUs)
    {
        var options = new SessionOptions
        {
            PathCount = pathCount,
            Scheduler = _options.Scheduler,
            MaxDatagramSize = _options.MaxDatagramSize,
            SendQueueBytes = _options.SendQueueBytes,
            CodelTargetUs = _options.CodelTargetUs,
            CodelIntervalUs = _options.CodelIntervalUs,
            TargetQueueDelayUs = _options.TargetQueueDelayUs,
        };
        var ps = new ProxySession(new Session(options, SessionSecurity.ForResponder(), SessionRole.Responder, nowUs), peer, pathCount, nowUs);
        peer.Session = ps;
        _sessions.Add(ps);
        Log.LogInformation("{Peer}: new session with {Paths} paths", peer.Name, pathCount);
        return ps;
    }

    private void RemoveSession(ProxySession ps)
    {
        _sessions.Remove(ps);
        _ended.AddSession(ps.Session);
        foreach (var kv in _byIndex.Where(kv => kv.Value == ps).ToList())
        {
            _byIndex.Remove(kv.Key);
        }
        foreach (var kv in _byInnerAddress.Where(kv => kv.Value == ps).ToList())
        {
            _byInnerAddress.Remove(kv.Key);
        }
        if (ps.Peer.Session == ps)
        {
            ps.Peer.Session = null;
        }
        ps.Session.ReleaseKeys();
    }

    private void DrainRetired(ProxySession ps)
    {
        if (ps.Session.Keys is not { } ring)
        {
            return;
        }
        int n;
        while ((n = ring.DrainRetiredIndices(_retired)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                if (_byIndex.TryGetValue(_retired[i], out var owner) && owner == ps)
                {
                    _byIndex.Remove(_retired[i]);
                }
            }
        }
    }

    private void Send(ReadOnlySpan<byte> datagram, InetSocketAddress to, PacketInfo from)
    {
        MessageSyscalls.SendTo(_socket, datagram, ref to, ref from);
    }

    /// <summary>
    /// The cookie source (IP as 16 bytes, then the port, big-endian) and the rate limiter's key (the IPv4
    /// address, or an IPv6 address's /64: one host owns a whole /64).
    /// </summary>
    private static unsafe ReadOnlySpan<byte> SourceKeys(InetSocketAddress from, Span<byte> cookieSource)
    {
        var raw = new ReadOnlySpan<byte>(from.Pointer, InetSocketAddress.MaxLength);
        if (from.IsIPv6)
        {
            raw.Slice(8, 16).CopyTo(cookieSource);
        }
        else
        {
            cookieSource[..16].Clear();
            cookieSource[10] = 0xFF;
            cookieSource[11] = 0xFF;
            raw.Slice(4, 4).CopyTo(cookieSource[12..]);
        }
        raw.Slice(2, 2).CopyTo(cookieSource[16..]);
        var mapped = cookieSource[..10].IndexOfAnyExcept((byte)0) < 0 && cookieSource[10] == 0xFF && cookieSource[11] == 0xFF;
        return mapped ? cookieSource.Slice(12, 4) : cookieSource[..8];
    }

    protected override void Tick(long nowUs)
    {
        foreach (var ps in _sessions)
        {
            var s = ps.Session;
            if (s.NextTimeoutUs <= nowUs)
            {
                s.HandleTimeout(nowUs);
                DrainRetired(ps);
            }
            while (s.TryPollDatagram(nowUs, _out, out var length, out var path))
            {
                ref var remote = ref ps.Remotes[path];
                if (!remote.IsSet || MessageSyscalls.SendTo(_socket, _out.AsSpan(0, length), ref remote, ref ps.Locals[path]) < 0)
                {
                    ps.SendErrors++;
                }
                else
                {
                    ps.BytesSent[path] += length;
                }
            }
            while (s.TryPollInner(_inner, out var length))
            {
                var packet = _inner.AsSpan(0, length);
                if (!InnerPacket.TryGetSource(packet, out var src) || !ps.Peer.Allows(src))
                {
                    // Cryptokey routing: a router speaks only for its own addresses.
                    ForbiddenSource++;
                    ps.ForbiddenSource++;
                    continue;
                }
                if (!_byInnerAddress.TryGetValue(src, out var owner) || owner != ps)
                {
                    _byInnerAddress[src] = ps; // replies to this address go back through this session
                }
                _tun.Write(packet);
            }
            if (ps.EstablishedAtUs < 0 && s.IsEstablished)
            {
                ps.EstablishedAtUs = nowUs;
            }
        }
        if (nowUs - _lastSweepUs > 1_000_000)
        {
            _lastSweepUs = nowUs;
            SweepIdle(nowUs);
        }
    }

    private void SweepIdle(long nowUs)
    {
        for (var i = _sessions.Count - 1; i >= 0; i--)
        {
            var ps = _sessions[i];
            if (nowUs - ps.LastReceiveUs <= _idleTimeoutUs)
            {
                continue;
            }
            Log.LogInformation("{Peer}: session idle for {Seconds} s: closed", ps.Peer.Name, _idleTimeoutUs / 1_000_000);
            RemoveSession(ps);
        }
    }

    protected override long NextTimeoutUs
    {
        get
        {
            var t = long.MaxValue;
            foreach (var ps in _sessions)
            {
                t = Math.Min(t, ps.Session.NextTimeoutUs);
            }
            return t;
        }
    }

    protected override StatusReport BuildStatus(long nowUs, double intervalS)
    {
        var report = new StatusReport
        {
            Role = "proxy",
            Tunnel = _tun.Name,
            UptimeSeconds = (nowUs - StartedUs) / 1e6,
            InboxDropped = Inbox.Dropped,
            TunWriteErrors = _tun.WriteErrors,
            Unencrypted = _insecureNullTransport,
        };
        var security = new SecurityStatus
        {
            UnknownPeer = UnknownPeer,
            CookiesSent = CookiesSent,
            RateLimited = HandshakesRateLimited,
            HandshakesFailed = HandshakesRejected + UnknownPeer + InitiationsReplayed,
            Dropped = { DisallowedSource = ForbiddenSource },
        };
        security.Dropped.Add(_drops);
        foreach (var ps in _sessions)
        {
            security.AddSession(ps.Session);
        }
        report.Security = security.Plus(_ended);
        foreach (var ps in _sessions)
        {
            var s = ps.Session;
            var status = new SessionStatus
            {
                LocalId = s.LocalSessionId,
                PeerId = s.PeerSessionId,
                Established = s.IsEstablished,
                UptimeSeconds = ps.EstablishedAtUs >= 0 && s.IsEstablished ? (nowUs - ps.EstablishedAtUs) / 1e6 : 0,
                SendQueueBytes = s.SendQueueBytes,
                SendQueueDrops = s.SendQueueDrops,
                ReorderSkipped = s.ReorderSkipped,
                ExpressSent = s.ExpressSent,
                ExpressReleased = s.ExpressReleased,
                HoldBoundMs = s.HoldBoundUs / 1000.0,
                DatagramsDropped = s.Drops.Total,
            };
            for (var i = 0; i < s.PathCount; i++)
            {
                var stats = s.GetPathStats(i);
                var link = ps.Meters[i].Measure(stats, intervalS);
                link.Name = "path " + i;
                link.Address = ps.Remotes[i].IsSet ? ps.Remotes[i].ToString() : null;
                link.State = stats.IsUp ? "up" : "down";
                status.Links.Add(link);
            }
            PathMeter.FillShares(status.Links, ps.Meters, i => s.GetPathStats(i).DataBytesSent);
            report.Sessions.Add(status);
        }
        return report;
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
        foreach (var ps in _sessions.ToList())
        {
            RemoveSession(ps);
        }
        _responder.Dispose();
    }

    /// <summary>A configured router: who it may speak for, its replay guard, and its session once it has handshaken.</summary>
    private sealed class ProxyPeer(string name, AllowedPrefix[] allowed)
    {
        public string Name { get; } = name;

        public InitiationReplayGuard ReplayGuard { get; } = new();

        public ProxySession? Session { get; set; }

        public bool Allows(UInt128 address)
        {
            foreach (var p in allowed)
            {
                if (p.Contains(address))
                {
                    return true;
                }
            }
            return false;
        }
    }

    private sealed class ProxySession
    {
        public ProxySession(Session session, ProxyPeer peer, int paths, long nowUs)
        {
            Session = session;
            Peer = peer;
            Remotes = new InetSocketAddress[paths];
            Locals = new PacketInfo[paths];
            Meters = new PathMeter[paths];
            BytesSent = new long[paths];
            for (var i = 0; i < paths; i++)
            {
                Meters[i] = new PathMeter();
            }
            LastReceiveUs = nowUs;
        }

        public Session Session { get; }

        public ProxyPeer Peer { get; }

        public long ForbiddenSource { get; set; }

        public InetSocketAddress[] Remotes { get; }

        /// <summary>Per path, the proxy address the router sends to: replies leave from it, or the modem's NAT drops them.</summary>
        public PacketInfo[] Locals { get; }

        public PathMeter[] Meters { get; }

        public long[] BytesSent { get; }

        public long SendErrors { get; set; }

        public long LastReceiveUs { get; set; }

        public long EstablishedAtUs { get; set; } = -1;
    }
}
