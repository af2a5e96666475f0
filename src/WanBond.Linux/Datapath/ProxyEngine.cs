using Microsoft.Extensions.Logging;
using WanBond.Core.Buffers;
using WanBond.Core.Sessions;
using WanBond.Core.Wire;
using WanBond.Linux.Control;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// The proxy's datapath: one UDP socket for every router and path. A datagram finds its session by the
/// receiver id in its header, never by its source address; each path's reply address is simply where that
/// path's last authentic datagram came from, so NAT rebinding on a modem costs nothing.
/// Inner packets from the TUN go to the session whose router last used their destination address.
/// </summary>
public sealed class ProxyEngine : EngineLoop
{
    private readonly SessionOptions _options;
    private readonly TunDevice _tun;
    private readonly FileDescriptor _socket;
    private readonly long _idleTimeoutUs;
    private readonly ReceiveLoop[] _receivers;
    private readonly Dictionary<uint, ProxySession> _byLocalId = [];
    private readonly Dictionary<uint, ProxySession> _byInitiator = [];
    private readonly Dictionary<UInt128, ProxySession> _byInnerAddress = [];
    private readonly List<ProxySession> _sessions = [];
    private readonly byte[] _out = new byte[PacketBuffer.Capacity];
    private readonly byte[] _inner = new byte[PacketBuffer.Capacity];
    private ProxySession? _latest;
    private long _lastSweepUs;
    private long _unknownSession;
    private long _unroutable;

    public ProxyEngine(SessionOptions options, TunDevice tun, FileDescriptor socket, long idleTimeoutUs, ILogger log)
        : base("engine", log)
    {
        _options = options;
        _tun = tun;
        _socket = socket;
        _idleTimeoutUs = idleTimeoutUs;
        _receivers =
        [
            new ReceiveLoop("udp", () => socket, isSocket: true, Inbox.FromSocket, Inbox, log, packetInfo: true),
            new ReceiveLoop(tun.Name, () => tun.Descriptor, isSocket: false, Inbox.FromTun, Inbox, log),
        ];
    }

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
            var target = InnerPacket.TryGetDestination(item.Span, out var dst) && _byInnerAddress.TryGetValue(dst, out var owner) ? owner : _latest;
            if (target is null)
            {
                _unroutable++;
                return;
            }
            target.Session.SubmitInner(item.Span, nowUs);
            return;
        }
        var datagram = item.Span;
        if (!ClearHeader.TryParse(datagram, out var header, out _))
        {
            _unknownSession++;
            return;
        }
        ProxySession? ps;
        if (header.ReceiverSessionId == 0)
        {
            ps = header.Type == PacketType.Hello ? SessionForHello(datagram, nowUs) : null;
        }
        else
        {
            _byLocalId.TryGetValue(header.ReceiverSessionId, out ps);
        }
        if (ps is null)
        {
            _unknownSession++;
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
            _latest = ps;
        }
    }

    /// <summary>
    /// The session a Hello opens (or re-sends for). With the clear stand-in seal the Hello's initiator id
    /// is readable here; the security layer's handshake will take this role.
    /// </summary>
    private ProxySession? SessionForHello(ReadOnlySpan<byte> datagram, long nowUs)
    {
        var tag = NullSeal.TagSize;
        if (datagram.Length < ClearHeader.Size + tag)
        {
            return null;
        }
        var plain = datagram[ClearHeader.Size..^tag];
        if (!ControlFrames.TryParseHello(plain, out var initiatorId, out var pathCount, out _, out _) || initiatorId == 0 || pathCount is 0 or > 32)
        {
            return null;
        }
        if (_byInitiator.TryGetValue(initiatorId, out var existing))
        {
            return existing;
        }
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
        uint localId;
        do
        {
            localId = SessionIds.NewId();
        }
        while (_byLocalId.ContainsKey(localId));
        var ps = new ProxySession(new Session(options, NullSeal.Instance, SessionRole.Responder, localId, nowUs), initiatorId, pathCount, nowUs);
        _byLocalId.Add(localId, ps);
        _byInitiator.Add(initiatorId, ps);
        _sessions.Add(ps);
        Log.LogInformation("new session {Local:x8} for router session {Peer:x8} with {Paths} paths", localId, initiatorId, pathCount);
        return ps;
    }

    protected override void Tick(long nowUs)
    {
        foreach (var ps in _sessions)
        {
            var s = ps.Session;
            if (s.NextTimeoutUs <= nowUs)
            {
                s.HandleTimeout(nowUs);
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
                if (InnerPacket.TryGetSource(packet, out var src) && (!_byInnerAddress.TryGetValue(src, out var owner) || owner != ps))
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
            Log.LogInformation("session {Local:x8} idle for {Seconds} s: closed", ps.Session.LocalSessionId, _idleTimeoutUs / 1_000_000);
            _sessions.RemoveAt(i);
            _byLocalId.Remove(ps.Session.LocalSessionId);
            _byInitiator.Remove(ps.InitiatorId);
            foreach (var kv in _byInnerAddress.Where(kv => kv.Value == ps).ToList())
            {
                _byInnerAddress.Remove(kv.Key);
            }
            if (_latest == ps)
            {
                _latest = _sessions.Count > 0 ? _sessions[^1] : null;
            }
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
        };
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
    }

    private sealed class ProxySession
    {
        public ProxySession(Session session, uint initiatorId, int paths, long nowUs)
        {
            Session = session;
            InitiatorId = initiatorId;
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

        public uint InitiatorId { get; }

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
