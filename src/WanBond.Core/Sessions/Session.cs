using WanBond.Core.Buffers;
using WanBond.Core.Congestion;
using WanBond.Core.Paths;
using WanBond.Core.Queueing;
using WanBond.Core.Reorder;
using WanBond.Core.Scheduling;
using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Sessions;

/// <summary>
/// One bonded tunnel between a router and a proxy, sans-IO: inner IP packets and datagrams in,
/// datagrams and in-order inner packets out, the current time always passed in.
/// Both ends run the same engine; only session set-up differs by <see cref="SessionRole"/>.
/// <para>
/// Usage: after every <see cref="SubmitInner"/>, <see cref="ReceiveDatagram"/> or
/// <see cref="HandleTimeout"/>, drain <see cref="TryPollDatagram"/> and <see cref="TryPollInner"/>
/// until they return false, then arm one timer at <see cref="NextTimeoutUs"/>.
/// </para>
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Only a secured session owns keys; its owner calls ReleaseKeys. Stand-in-seal sessions (simulator, benchmarks) own nothing to dispose.")]
public sealed class Session
{
    /// <summary>Longest the receiver waits before acknowledging a lone ack-eliciting packet.</summary>
    public const long MaxAckDelayUs = 5_000;

    /// <summary>Ack-eliciting packets received on a path before an ack goes out at once.</summary>
    public const int AckEveryPackets = 2;

    /// <summary>Interval between session-opening Hellos until answered.</summary>
    public const long HelloIntervalUs = 250_000;

    /// <summary>A path that carried nothing for this long gets a probe (keeps RTT fresh, NAT mappings open, and tells the receiver what it need not wait for).</summary>
    public const long IdleProbeUs = 100_000;

    /// <summary>A path that carried no data for this long while others did gets a watermark probe, so the receiver need not wait on it.</summary>
    public const long WatermarkProbeUs = 20_000;

    /// <summary>Probe interval for a path that is down.</summary>
    public const long DownProbeUs = 200_000;

    /// <summary>How much later than its path's one-way delay predicts a packet may be before its path counts as stalled.</summary>
    /// <remarks>
    /// Mobile links deliver in bursts with pauses of 20–50 ms that are not outages (a quarter of the time on the
    /// T-Mobile LTE trace passes in pauses over 20 ms, an eighth in pauses over 50 ms). At 40 ms most copies were of
    /// packets that arrived anyway: in the simulator, T-Mobile + Verizon bulk at 30 ms, 3,310 of 3,533 copies were
    /// rejected as duplicates, and they took that capacity from new data. At 80 ms: 1,465 copies, efficiency
    /// 0.842 → 0.858, and at 60 ms one-way 0.815 → 0.838 with a lower p95 delay (470 → 441 ms).
    /// </remarks>
    public const long OverdueMarginUs = 80_000;

    /// <summary>Inner packets up to this size are sent on two paths.</summary>
    public const int SmallPacketBytes = 200;

    /// <summary>Inner flows are told apart by their 5-tuple hash modulo this (sender queue, express delivery).</summary>
    private const int FlowBuckets = 1024;

    /// <summary>gseqs the receiver holds at most ahead of the next expected one.</summary>
    private const int ReorderWindow = 16384;

    /// <summary>How long a receiver told that repairs follow holds the holes they will fill, at most.</summary>
    public const long RepairAnnouncementHoldUs = 1_000_000;

    /// <summary>A sender queue empty for less than this has not ended its busy period.</summary>
    public const long BusyGapUs = 2_000;

    /// <summary>Clear packet number of an initiation that opens a new session (both ends start fresh).</summary>
    public const ulong InitiationOpensSession = 0;

    /// <summary>Clear packet number of an initiation that rekeys a running session (the proxy keeps its session state).</summary>
    public const ulong InitiationRekeys = 1;

    private const int HeaderSize = ClearHeader.Size;

    private readonly SessionOptions _options;
    private readonly IPacketSeal _seal;
    private readonly PathState[] _paths;
    private readonly IScheduler _scheduler;
    private readonly PacketPool _pool = new();
    private readonly FqCodelQueue _sendQueue;
    private readonly RepairQueue _repairs = new(4096);
    private readonly ReorderBuffer _reorder;
    private readonly OutstandingFlows _outstanding;
    // Receiver: per flow bucket and path, one past the packet number of the flow's latest packet received there (0: none).
    private readonly ulong[] _lastFlowPn;
    private readonly byte[] _scratch = new byte[PacketBuffer.Capacity];
    private readonly AckBlock[] _ackBlocks = new AckBlock[AckFrame.MaxBlocks];
    private readonly AckRange[] _ackRanges = new AckRange[AckFrame.MaxBlocks * (AckFrame.MaxRanges + 1)];
    private readonly LatenessTracker _lateness = new();

    private uint _peerSessionId;
    private bool _established;
    private bool _closed;
    private long _nextHelloUs;
    private uint _helloPathsPending;
    private uint _helloReplyPathsPending;
    private long _nextGseq;
    private long _highestGseqReceived = -1;
    private long _dataRetryUs = long.MaxValue;
    private long _lastNowUs;
    private long _lastDataSendUs = long.MinValue;
    private int _nextFeedbackPath;
    private long _backlogSinceUs;
    private long _queueEmptySinceUs = long.MinValue / 2;
    private long _repairsAnnouncedUpTo;
    private long _repairsAnnouncedUntilUs;
    private bool _announceRepairs;
    private PacketBuffer? _duplicate;
    private long _duplicateGseq;
    private long _duplicateFirstSentUs;
    private int _duplicateNotOnPath;
    private readonly long[] _lastOwdBase;
    private readonly bool[] _hasOwdBase;

    // Security layer (null/unused with a clear stand-in seal).
    private readonly SessionSecurity? _security;
    private readonly KeyRing? _keyRing;
    private readonly CookieJar? _cookies;
    private readonly long _createdUs;
    private HandshakeInitiator? _handshake;
    private long _handshakeSentUs;
    private long _attemptsStartedUs;
    private ulong _lastTimestamp;
    private uint _initiationPathsPending;
    private uint _confirmPathsPending;
    private readonly uint _localSessionId;

    /// <summary>
    /// A session secured by the security layer: Noise IK handshakes (the initiator sends them on every path,
    /// retried and repeated every <see cref="RekeyPolicy.RekeyAfterUs"/>) and a <see cref="KeyRing"/> sealing
    /// every datagram. The receiver ids on the wire are the key pairs' indices.
    /// </summary>
    public Session(SessionOptions options, SessionSecurity security, SessionRole role, long nowUs)
        : this(options, NewKeyRing(security), role, 1, nowUs)
    {
        if (role == SessionRole.Initiator && security.Local is null)
        {
            throw new ArgumentException("An initiator needs SessionSecurity.ForInitiator (its static key and the responder's public key).", nameof(security));
        }
        _security = security;
        _keyRing = (KeyRing)_seal;
        _cookies = new CookieJar(options.PathCount);
        _createdUs = nowUs;
        _helloPathsPending = 0;
        _nextHelloUs = long.MaxValue;
    }

    private static KeyRing NewKeyRing(SessionSecurity security)
    {
        ArgumentNullException.ThrowIfNull(security);
        return new KeyRing(security.Policy);
    }

    public Session(SessionOptions options, IPacketSeal seal, SessionRole role, uint localSessionId, long nowUs)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(seal);
        if (options.PathCount is < 1 or > AckFrame.MaxBlocks)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"PathCount must be 1..{AckFrame.MaxBlocks}");
        }
        if (localSessionId == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(localSessionId), "0 means 'no session' on the wire");
        }
        _options = options;
        _seal = seal;
        Role = role;
        _localSessionId = localSessionId;
        InnerMtu = options.MaxDatagramSize - HeaderSize - DataFrame.HeaderSize - seal.TagLength;
        if (InnerMtu < 576 || options.MaxDatagramSize > PacketBuffer.Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxDatagramSize leaves no room for a 576-byte inner packet, or exceeds the buffer size");
        }
        _paths = new PathState[options.PathCount];
        for (var i = 0; i < _paths.Length; i++)
        {
            _paths[i] = new PathState(i, NewController())
            {
                LastReceiveUs = nowUs,
                WindowStartUs = nowUs,
            };
        }
        _lastOwdBase = new long[options.PathCount];
        _hasOwdBase = new bool[options.PathCount];
        _scheduler = options.Scheduler switch
        {
            SchedulerKind.Adaptive => new EarliestArrivalScheduler(),
            SchedulerKind.RoundRobin => new RoundRobinScheduler(),
            SchedulerKind.Weighted => new WeightedScheduler(),
            SchedulerKind.MinRtt => new MinRttScheduler(),
            _ => throw new ArgumentOutOfRangeException(nameof(options), "unknown scheduler"),
        };
        _sendQueue = new FqCodelQueue(_pool, options.SendQueueBytes, options.CodelTargetUs, options.CodelIntervalUs, flowSlots: FlowBuckets);
        _reorder = new ReorderBuffer(options.PathCount, _pool, ReorderWindow, FlowBuckets);
        // As large as the peer's reorder window (the same constant on both ends): see OutstandingFlows.
        _outstanding = new OutstandingFlows(FlowBuckets, options.PathCount, ReorderWindow);
        _lastFlowPn = new ulong[FlowBuckets * options.PathCount];
        _lastNowUs = nowUs;
        if (role == SessionRole.Initiator)
        {
            _helloPathsPending = AllPathsMask;
            _nextHelloUs = nowUs;
        }
    }

    public SessionRole Role { get; }

    /// <summary>The receiver id the peer writes on what it sends us: with the security layer, the current keys' local index (0 before the first handshake).</summary>
    public uint LocalSessionId => _keyRing is null ? _localSessionId : _keyRing.Current?.LocalIndex ?? _keyRing.Next?.LocalIndex ?? 0;

    /// <summary>The peer's session id, once known (0 before).</summary>
    public uint PeerSessionId => _keyRing?.SendIndex ?? _peerSessionId;

    public bool IsEstablished => _established && !_closed && (_keyRing is null || _keyRing.Current is not null);

    /// <summary>The session's keys (null with a clear stand-in seal). The daemon maps every live local index to the session.</summary>
    public KeyRing? Keys => _keyRing;

    /// <summary>Handshakes completed (initiator: responses accepted; responder: initiations answered).</summary>
    public long HandshakesCompleted { get; private set; }

    /// <summary>Initiations sent (initiator).</summary>
    public long InitiationsSent { get; private set; }

    /// <summary>Handshake attempts that went unanswered and were replaced by a new one (initiator).</summary>
    public long HandshakeAttemptsTimedOut { get; private set; }

    /// <summary>
    /// Initiator: no handshake was answered for <see cref="RekeyPolicy.RekeyAttemptUs"/> (90 s) of attempts, so the
    /// session gave up: it dropped every key and the attempt, sends nothing and starts no handshake any more. The
    /// daemon replaces it (a new session) and says so.
    /// </summary>
    public bool HandshakeGaveUp { get; private set; }

    private uint SendReceiverId => _keyRing?.SendIndex ?? _peerSessionId;

    private bool CanSendTransport(long nowUs) => _keyRing is null ? _peerSessionId != 0 : _keyRing.CanSend(nowUs);

    /// <summary>Largest inner packet accepted: the datagram size minus the tunnel overhead (32 bytes with a 16-byte tag).</summary>
    public int InnerMtu { get; }

    public int PathCount => _paths.Length;

    /// <summary>Bytes of inner packets waiting in the sender queue.</summary>
    public int SendQueueBytes => _sendQueue.Bytes;

    /// <summary>How long the inner packet last returned by <see cref="TryPollInner"/> waited in the reorder buffer.</summary>
    public long LastReleaseHoldUs { get; private set; }

    /// <summary>Datagrams rejected, by reason.</summary>
    public DropCounters Drops { get; } = new();

    /// <summary>Inner packets the sender queue dropped (bound or CoDel).</summary>
    public long SendQueueDrops => _sendQueue.DroppedOverflow + _sendQueue.DroppedCodel;

    /// <summary>Holes the receiver released past (lost, or later than the hold bound).</summary>
    public long ReorderSkipped => _reorder.SkippedLost + _reorder.SkippedLate + _reorder.SkippedOverflow;

    /// <summary>Holes released past because they were later than the hold bound (not known lost).</summary>
    public long ReorderSkippedLate => _reorder.SkippedLate;

    /// <summary>Data packets (copies included) sent as DataExpress or DataExpressOnPath.</summary>
    public long ExpressSent { get; private set; }

    /// <summary>Received express packets released on arrival, ahead of holes in the global order.</summary>
    public long ExpressReleased => _reorder.ReleasedExpress;

    /// <summary>
    /// Copies of late packets released unsent: their original was acknowledged while they waited, or the only
    /// path left to carry them was the original's own (not counted in the paths' PacketsRepaired).
    /// </summary>
    public long RepairsWithheld { get; private set; }

    /// <summary>The receiver's current bound on waiting for a late packet.</summary>
    public long HoldBoundUs => _reorder.HoldBoundUs;

    /// <summary>Pooled buffers ever created: flat in steady state (no allocation per packet).</summary>
    public int BuffersCreated => _pool.Created;

    private uint AllPathsMask => _paths.Length >= 32 ? uint.MaxValue : (1u << _paths.Length) - 1;

    private ICongestionController NewController() => _options.CongestionControl switch
    {
        CongestionControlKind.Reno => new RenoController(),
        _ => new DelayTargetController(_options.TargetQueueDelayUs),
    };

    // ------------------------------------------------------------------ input

    /// <summary>Queues an inner IP packet for the peer. False when it was dropped (too big, queue full).</summary>
    public bool SubmitInner(ReadOnlySpan<byte> ipPacket, long nowUs)
    {
        _lastNowUs = nowUs;
        if (ipPacket.Length > InnerMtu || ipPacket.Length == 0 || _closed)
        {
            Drops.Increment(DropReason.BadLength);
            return false;
        }
        // A busy period ends only with a real pause: a sender that refills the queue a moment after
        // it drains is still backlogged.
        if (_sendQueue.Count == 0 && _repairs.Count == 0 && nowUs - _queueEmptySinceUs > BusyGapUs)
        {
            _backlogSinceUs = nowUs;
        }
        return _sendQueue.Enqueue(ipPacket, nowUs);
    }

    /// <summary>
    /// Takes a datagram that arrived from the peer. <paramref name="pathId"/> is the link it came in on,
    /// or -1 when the receiver cannot tell (a proxy with one socket): the path id in the header decides.
    /// </summary>
    public void ReceiveDatagram(int pathId, ReadOnlySpan<byte> datagram, long nowUs)
    {
        _lastNowUs = nowUs;
        if (!ClearHeader.TryParse(datagram, out var header, out var reason))
        {
            Drops.Increment(reason);
            return;
        }
        if (header.PathId >= _paths.Length || (pathId >= 0 && pathId != header.PathId))
        {
            Drops.Increment(DropReason.BadPath);
            return;
        }
        if (datagram.Length > _scratch.Length)
        {
            Drops.Increment(DropReason.BadLength);
            return;
        }
        var buffer = _scratch.AsSpan(0, datagram.Length);
        int plainLength;
        if (_keyRing is null)
        {
            var expectedId = header.Type == PacketType.Hello ? 0u : LocalSessionId;
            if (header.ReceiverSessionId != expectedId)
            {
                Drops.Increment(DropReason.UnknownSession);
                return;
            }
            datagram.CopyTo(buffer);
            if (!_seal.TryOpen(buffer, HeaderSize, header.Nonce, out plainLength))
            {
                Drops.Increment(DropReason.AuthenticationFailed);
                return;
            }
        }
        else
        {
            switch (header.Type)
            {
                case PacketType.HandshakeResponse:
                    ReceiveHandshakeResponse(datagram, nowUs);
                    return;
                case PacketType.CookieReply:
                    ReceiveCookieReply(datagram, header.PathId, nowUs);
                    return;
                case var t when t.IsSessionTraffic():
                    break;
                default:
                    // Initiations are the daemon's (it routes them by key); Hello/HelloReply do not exist here.
                    Drops.Increment(DropReason.UnknownType);
                    return;
            }
            datagram.CopyTo(buffer);
            // Decrypted and authenticated before anything else reads it: a forged datagram is only counted.
            if (!_keyRing.TryOpen(buffer, HeaderSize, header.Nonce, nowUs, out plainLength, out var why))
            {
                Drops.Increment(why);
                return;
            }
            if (Role == SessionRole.Responder && !_established && _keyRing.Current is not null)
            {
                // The initiator's first datagram under the new keys confirmed them.
                _established = true;
                _closed = false;
            }
        }
        var plain = buffer.Slice(HeaderSize, plainLength);
        var path = _paths[header.PathId];
        if (!path.Received.Add(header.PacketNumber))
        {
            Drops.Increment(DropReason.Duplicate);
            return;
        }
        var ackEliciting = false;
        switch (header.Type)
        {
            case var t when t.IsData():
                // The header named our session id, so the peer knows us even if its HelloReply is still on its way.
                if (!DataFrame.TryParse(plain, out var gseq32, out var inner, out reason))
                {
                    Drops.Increment(reason);
                    return;
                }
                ReceiveData(path, header.PacketNumber, SequenceNumbers.ExpandGseq(gseq32, _highestGseqReceived + 1), inner, header.Type, nowUs);
                ackEliciting = true;
                break;
            case PacketType.Probe:
                if (!ProbeFrame.TryParse(plain, out var watermark32, out var probeFlags, out reason))
                {
                    Drops.Increment(reason);
                    return;
                }
                var watermark = SequenceNumbers.ExpandGseq(watermark32, _highestGseqReceived + 1);
                _reorder.AdvanceWatermark(path.Id, watermark, nowUs);
                if ((probeFlags & ProbeFrame.RepairsFollow) != 0)
                {
                    _repairsAnnouncedUpTo = Math.Max(_repairsAnnouncedUpTo, watermark);
                    _repairsAnnouncedUntilUs = nowUs + RepairAnnouncementHoldUs;
                    UpdateHoldBounds(nowUs);
                }
                ackEliciting = true;
                break;
            case PacketType.Ack:
                if (!_established)
                {
                    Drops.Increment(DropReason.UnknownSession);
                    return;
                }
                ReceiveAck(plain, nowUs);
                break;
            case PacketType.Hello when _keyRing is null:
                if (Role != SessionRole.Responder || !ControlFrames.TryParseHello(plain, out var initiatorId, out var pathCount, out _, out reason))
                {
                    Drops.Increment(Role != SessionRole.Responder ? DropReason.UnknownSession : reason);
                    return;
                }
                if (pathCount != _paths.Length || initiatorId == 0)
                {
                    Drops.Increment(DropReason.BadPath);
                    return;
                }
                _peerSessionId = initiatorId;
                _established = true;
                _closed = false;
                _helloReplyPathsPending |= 1u << path.Id;
                break;
            case PacketType.HelloReply when _keyRing is null:
                if (Role != SessionRole.Initiator || !ControlFrames.TryParseHelloReply(plain, out var echoedId, out var responderId, out _, out reason))
                {
                    Drops.Increment(Role != SessionRole.Initiator ? DropReason.UnknownSession : reason);
                    return;
                }
                if (echoedId != LocalSessionId || responderId == 0)
                {
                    Drops.Increment(DropReason.UnknownSession);
                    return;
                }
                _peerSessionId = responderId;
                _established = true;
                _helloPathsPending = 0;
                break;
            case PacketType.Close:
                _closed = true;
                break;
            default:
                Drops.Increment(DropReason.UnknownType);
                return;
        }

        if (path.LastReceiveUs < nowUs - InactiveAfterUs())
        {
            _reorder.SetPathActive(path.Id, true, nowUs);
        }
        path.LastReceiveUs = nowUs;
        if (header.PacketNumber == path.Received.Largest)
        {
            path.LargestReceivedUs = nowUs;
        }
        path.AckInfoPending = true;
        if (ackEliciting)
        {
            if (path.AckElicitingUnacked++ == 0)
            {
                path.AckDueUs = nowUs + MaxAckDelayUs;
            }
        }
    }

    private void ReceiveData(PathState path, ulong pn, long gseq, ReadOnlySpan<byte> inner, PacketType type, long nowUs)
    {
        var flow = (int)((uint)FqCodelQueue.FlowHash(inner) % FlowBuckets);
        ref var lastFlowPn = ref _lastFlowPn[(flow * _paths.Length) + path.Id];
        // DataExpressOnPath: the flow's unacknowledged earlier packets all went on this path before this one. They
        // are here unless the path lost something since the flow's latest packet received on it.
        var express = type == PacketType.DataExpress
            || (type == PacketType.DataExpressOnPath && lastFlowPn != 0 && pn >= lastFlowPn && path.Received.AllReceived(lastFlowPn, pn - 1));
        lastFlowPn = Math.Max(lastFlowPn, pn + 1);
        var outOfOrder = gseq < _highestGseqReceived;
        if (gseq > _highestGseqReceived)
        {
            _highestGseqReceived = gseq;
        }
        var outcome = _reorder.Insert(gseq, path.Id, inner, nowUs, flow, express);
        if (outcome == InsertOutcome.Duplicate)
        {
            Drops.Increment(DropReason.Duplicate);
        }
        // A packet that arrives after later ones measures the delay spread between paths.
        if (outOfOrder && outcome != InsertOutcome.Duplicate)
        {
            _lateness.AddSample(gseq, nowUs);
        }
        _lateness.RecordArrival(gseq, nowUs);
        UpdateHoldBounds(nowUs);
    }

    private void UpdateHoldBounds(long nowUs)
    {
        // Wait at least as long as a stuck packet takes to be noticed overdue and copied onto another path.
        var minSrtt = MinSmoothedRttUs();
        var hold = Math.Max(_lateness.HoldBoundUs(nowUs, RttSpreadUs()), OverdueMarginUs + minSrtt + 20_000);
        // A hole known lost is worth holding for about one round trip and the repair path's queue: the
        // sender's repair is on its way.
        var repairWait = Math.Min(minSrtt + OverdueMarginUs, hold);
        if (_reorder.NextExpected < _repairsAnnouncedUpTo && nowUs < _repairsAnnouncedUntilUs)
        {
            // The sender said it is moving a stalled path's data: the copies may take a while on a slower path.
            hold = Math.Max(hold, _repairsAnnouncedUntilUs - nowUs);
            repairWait = hold;
        }
        _reorder.HoldBoundUs = hold;
        _reorder.RepairWaitUs = repairWait;
    }

    private long MinSmoothedRttUs()
    {
        var min = long.MaxValue;
        foreach (var p in _paths)
        {
            if (p.IsUsable && p.Rtt.HasSample)
            {
                min = Math.Min(min, p.Rtt.SmoothedUs);
            }
        }
        return min == long.MaxValue ? RttEstimator.InitialRttUs / 2 : min;
    }

    private long RttSpreadUs()
    {
        long min = long.MaxValue, max = 0;
        foreach (var p in _paths)
        {
            if (p.IsUsable && p.Rtt.HasSample)
            {
                min = Math.Min(min, p.Rtt.SmoothedUs);
                max = Math.Max(max, p.Rtt.SmoothedUs);
            }
        }
        return max > min ? max - min : 0;
    }

    private void ReceiveAck(ReadOnlySpan<byte> plain, long nowUs)
    {
        if (!AckFrame.TryParse(plain, _ackBlocks, _ackRanges, out var blockCount, out _, out var reason))
        {
            Drops.Increment(reason);
            return;
        }
        var receiverNow = 0u;
        for (var b = 0; b < blockCount; b++)
        {
            ref readonly var block = ref _ackBlocks[b];
            if (block.PathId >= _paths.Length)
            {
                Drops.Increment(DropReason.BadPath);
                continue;
            }
            ProcessAckBlock(_paths[block.PathId], in block, nowUs);
            if (b == 0 || (int)(block.RxTimeLargestUs - receiverNow) > 0)
            {
                receiverNow = block.RxTimeLargestUs;
            }
        }
        StallOverduePaths(receiverNow, nowUs);
    }

    /// <summary>
    /// Cross-path lateness: the ack says what the receiver's clock read when it last heard from any
    /// path. A packet on another path that should, by that path's one-way delay, have arrived well
    /// before then, and that this ack does not report, is late: its path has stalled (an outage, a
    /// handover). Its data is copied onto the other paths now, an RTT sooner than a timer would.
    /// One-way delays of all paths share the same clock offset, so comparing them needs no sync.
    /// </summary>

    private void StallOverduePaths(uint receiverNow, long nowUs)
    {
        foreach (var p in _paths)
        {
            // Stalled paths too: more of their packets become overdue as time goes on.
            if (p.Liveness != PathLiveness.Up || !p.LinkPresent || p.BytesInFlight <= 0 || !_hasOwdBase[p.Id] || !AnotherPathUsable(p))
            {
                continue;
            }
            var expectedOwd = (uint)(_lastOwdBase[p.Id] + p.OneWayDelayMin.Value + p.QueueDelayUs);
            var margin = OverdueMarginUs + p.Rtt.VariationUs / 2;
            var sent = p.Sent;
            var overdue = 0;
            // Only the packets that are late are copied, oldest first: the rest may still make it,
            // and every copy costs another path's capacity.
            for (var pn = sent.Oldest; pn < sent.Next; pn++)
            {
                ref var sp = ref sent[pn];
                if (!sp.InFlight || !sp.AckEliciting)
                {
                    continue;
                }
                if ((int)(receiverNow - ((uint)sp.SentUs + expectedOwd)) <= margin)
                {
                    break;
                }
                overdue++;
                CopyForRepair(p, ref sp);
            }
            if (overdue > 0)
            {
                p.Stalled = true;
                p.NextProbeUs = nowUs;
            }
        }
    }

    private void CopyForRepair(PathState p, ref SentPacket sp)
    {
        // A copy sent on the original's own path would queue behind it: with no other path, wait for the original.
        if (sp.Inner is null || sp.Repaired || !AnotherPathUsable(p))
        {
            return;
        }
        var copy = _pool.Rent(sp.Inner.ReadOnlySpan);
        copy.Tag = sp.Inner.Tag; // the flow bucket
        if (_repairs.TryAdd(copy, sp.Gseq, sp.FirstSentUs, p.Id, sp.PacketNumber))
        {
            sp.Repaired = true;
            p.PacketsRepaired++;
            _announceRepairs = true;
        }
        else
        {
            _pool.Return(copy);
        }
    }

    private void ProcessAckBlock(PathState p, in AckBlock block, long nowUs)
    {
        var sent = p.Sent;
        var largest = _ackRanges[block.RangeStart].Largest;
        if (largest >= sent.Next)
        {
            Drops.Increment(DropReason.BadRange); // acknowledges what was never sent
            return;
        }
        long newlyAcked = 0;
        var largestNewly = ulong.MaxValue;
        for (var r = 0; r < block.RangeCount; r++)
        {
            var range = _ackRanges[block.RangeStart + r];
            if (range.Largest < sent.Oldest)
            {
                break;
            }
            var lo = Math.Max(range.Smallest, sent.Oldest);
            for (var pn = range.Largest; pn >= lo; pn--)
            {
                ref var sp = ref sent[pn];
                if (sp.Data)
                {
                    sp.Data = false;
                    _outstanding.Acknowledged(sp.Gseq);
                }
                if (sp.InFlight)
                {
                    sp.InFlight = false;
                    p.BytesInFlight -= sp.Bytes;
                    newlyAcked += sp.Bytes;
                    if (largestNewly == ulong.MaxValue)
                    {
                        largestNewly = pn;
                    }
                }
                if (sp.Inner is not null)
                {
                    if (sp.Repaired && _repairs.Count > 0)
                    {
                        _repairs.Cancel(sp.Gseq);
                    }
                    _pool.Return(sp.Inner);
                    sp.Inner = null;
                }
                if (pn == 0)
                {
                    break;
                }
            }
        }
        if (!p.HasAcked || largest > p.LargestAcked)
        {
            p.LargestAcked = largest;
            p.HasAcked = true;
        }
        if (newlyAcked == 0)
        {
            sent.Trim();
            return;
        }

        p.LastAckUs = nowUs;
        p.Stalled = false;
        p.StallReinjected = false;
        if (p.Liveness == PathLiveness.Down)
        {
            // It answers again: rejoin with fresh estimates, the link may have changed cell or address.
            p.Liveness = PathLiveness.Up;
            p.Controller.Reset(nowUs);
            p.Rtt.Reset();
            p.OneWayDelayMin.Reset();
            _hasOwdBase[p.Id] = false;
            p.NextSendUs = nowUs;
        }

        long rateSample = 0;
        var appLimited = false;
        ref var newest = ref sent[largestNewly];
        if (largestNewly == largest && newest.AckEliciting)
        {
            p.Rtt.AddSample(nowUs - newest.SentUs, block.AckDelayUs, nowUs);
            UpdateQueueDelay(p, block.RxTimeLargestUs, newest.SentUs, nowUs);
        }
        p.Delivered += newlyAcked;
        if (newest.HasDeliveredSnapshot)
        {
            var interval = (uint)(block.RxTimeLargestUs - newest.DeliveredRxTimeAtSend);
            if (interval is > 0 and < 10_000_000)
            {
                rateSample = (p.Delivered - newest.DeliveredAtSend) * 1_000_000 / interval;
            }
            appLimited = newest.AppLimited;
        }
        if (rateSample > 0 && !(appLimited && rateSample < p.DeliveryRateBps))
        {
            p.DeliveryRateBps = p.DeliveryRateBps == 0 ? rateSample : (p.DeliveryRateBps + rateSample) / 2;
        }
        p.DeliveredRxTime = block.RxTimeLargestUs;
        p.HasDeliveredRxTime = true;

        // gobonding-style speed test over 500 ms windows, for the `weighted` baseline.
        p.WindowAckedBytes += newlyAcked;
        if (nowUs - p.WindowStartUs >= 500_000)
        {
            p.MeasuredRateBps = p.WindowAckedBytes * 1_000_000 / (nowUs - p.WindowStartUs);
            p.HasMeasuredRate = true;
            p.WindowAckedBytes = 0;
            p.WindowStartUs = nowUs;
        }

        var sample = new AckSample(nowUs, newlyAcked, p.BytesInFlight, p.Rtt.SmoothedUs, p.Rtt.MinUs, p.QueueDelayUs, rateSample, appLimited);
        p.Controller.OnAck(in sample);
        DetectLosses(p, nowUs);
        sent.Trim();
    }

    /// <summary>
    /// Forward queueing delay from one-way delay = receiver clock − sender clock. The clocks' offset
    /// is unknown but constant, so the delay above its windowed minimum is exact (DESIGN.md point 7).
    /// </summary>
    private void UpdateQueueDelay(PathState p, uint rxTimeUs, long sentUs, long nowUs)
    {
        var raw = (uint)(rxTimeUs - (uint)sentUs);
        if (!_hasOwdBase[p.Id])
        {
            _hasOwdBase[p.Id] = true;
            _lastOwdBase[p.Id] = raw;
        }
        var relative = (long)(int)(raw - (uint)_lastOwdBase[p.Id]);
        p.OneWayDelayMin.Add(relative, nowUs);
        var q = Math.Max(0, relative - p.OneWayDelayMin.Value);
        // Light smoothing: single samples on a mobile link jitter by a few ms.
        p.QueueDelayUs = (3 * p.QueueDelayUs + q) / 4;
    }

    /// <summary>RFC 9002 loss detection per path: 3 packets or 9/8 RTT behind the largest acknowledged.</summary>
    private void DetectLosses(PathState p, long nowUs)
    {
        p.LossTimerUs = long.MaxValue;
        if (!p.HasAcked)
        {
            return;
        }
        var sent = p.Sent;
        var lossDelay = Math.Max(1_000, Math.Max(p.Rtt.SmoothedUs, p.Rtt.LatestUs) * 9 / 8);
        var end = Math.Min(p.LargestAcked, sent.Next);
        for (var pn = sent.Oldest; pn < end; pn++)
        {
            ref var sp = ref sent[pn];
            if (!sp.InFlight)
            {
                continue;
            }
            if (p.LargestAcked - pn >= 3 || sp.SentUs <= nowUs - lossDelay)
            {
                DeclareLost(p, ref sp, nowUs);
            }
            else
            {
                p.LossTimerUs = Math.Min(p.LossTimerUs, sp.SentUs + lossDelay);
            }
        }
    }

    private void DeclareLost(PathState p, ref SentPacket sp, long nowUs)
    {
        sp.InFlight = false;
        p.BytesInFlight -= sp.Bytes;
        p.PacketsLost++;
        p.Controller.OnPacketLost(nowUs, sp.Bytes, sp.SentUs);
        if (sp.Inner is null)
        {
            return;
        }
        if (!sp.Repaired && nowUs - sp.FirstSentUs <= RepairAgeLimitUs() && _repairs.TryAdd(sp.Inner, sp.Gseq, sp.FirstSentUs))
        {
            p.PacketsRepaired++;
        }
        else
        {
            _pool.Return(sp.Inner);
        }
        sp.Inner = null;
    }

    /// <summary>A repair older than this would reach a receiver that has released past it already.</summary>
    private long RepairAgeLimitUs()
    {
        long maxSrtt = 0;
        foreach (var p in _paths)
        {
            if (p.IsUsable)
            {
                maxSrtt = Math.Max(maxSrtt, p.Rtt.SmoothedUs);
            }
        }
        return Math.Min(1_000_000, 2 * maxSrtt + 50_000);
    }

    // ------------------------------------------------------------------ timers

    /// <summary>When <see cref="HandleTimeout"/> (then the polls) should next run; long.MaxValue when nothing is pending.</summary>
    public long NextTimeoutUs
    {
        get
        {
            var t = long.MaxValue;
            if (Role == SessionRole.Initiator && !_established)
            {
                t = _nextHelloUs;
            }
            // Without keys that may seal (expired, given up, not yet confirmed) nothing but handshakes can go out:
            // timers for acks, probes and data would be due at once and never served, a busy loop.
            var transport = _keyRing is null || _keyRing.CanSend(_lastNowUs);
            if (_helloReplyPathsPending != 0 || ((_announceRepairs || _duplicate is not null) && _established && transport))
            {
                return _lastNowUs;
            }
            if (_keyRing is not null)
            {
                if (_initiationPathsPending != 0 || (_confirmPathsPending != 0 && _keyRing.CanSend(_lastNowUs)))
                {
                    return _lastNowUs;
                }
                t = Math.Min(t, SecurityTimerUs());
            }
            foreach (var p in _paths)
            {
                if (p.AckInfoPending && transport)
                {
                    t = Math.Min(t, p.AckElicitingUnacked >= AckEveryPackets ? _lastNowUs : p.AckDueUs);
                }
                t = Math.Min(t, p.LossTimerUs);
                if (!_established || !transport)
                {
                    continue;
                }
                t = Math.Min(t, NextProbeTime(p));
                t = Math.Min(t, LivenessCheckTime(p));
            }
            if (_established && transport && (_repairs.Count > 0 || _sendQueue.Count > 0))
            {
                t = Math.Min(t, _dataRetryUs);
            }
            t = Math.Min(t, _reorder.NextDeadlineUs(_lastNowUs));
            return t;
        }
    }

    /// <summary>Runs the timers that are due: loss detection, stalled paths, liveness.</summary>
    public void HandleTimeout(long nowUs)
    {
        _lastNowUs = nowUs;
        if (_keyRing is not null)
        {
            _keyRing.Expire(nowUs);
            MaybeStartHandshake(nowUs);
        }
        foreach (var p in _paths)
        {
            if (p.LossTimerUs <= nowUs)
            {
                DetectLosses(p, nowUs);
                p.Sent.Trim();
            }
            CheckLiveness(p, nowUs);
            if (p.LastReceiveUs < nowUs - InactiveAfterUs())
            {
                _reorder.SetPathActive(p.Id, false, nowUs);
            }
        }
    }

    /// <summary>A receiver stops waiting on a path silent for this long.</summary>
    private long InactiveAfterUs() => Math.Max(300_000, 2 * _reorder.HoldBoundUs);

    private static long OldestInFlightSentUs(PathState p)
    {
        var sent = p.Sent;
        for (var pn = sent.Oldest; pn < sent.Next; pn++)
        {
            ref var sp = ref sent[pn];
            if (sp.InFlight && sp.AckEliciting)
            {
                return sp.SentUs;
            }
        }
        return long.MaxValue;
    }

    /// <summary>How long in-flight data may go unacknowledged before it is copied onto other paths.</summary>
    private static long StallTimeoutUs(PathState p) =>
        p.Rtt.SmoothedUs + Math.Max(4 * p.Rtt.VariationUs, OverdueMarginUs) + MaxAckDelayUs;

    /// <summary>DESIGN.md point 8 and the engine issue: down within max(1 s, 4 × RTT) of silence.</summary>
    private static long DownTimeoutUs(PathState p) => Math.Max(1_000_000, 4 * p.Rtt.SmoothedUs);

    private static long LivenessCheckTime(PathState p)
    {
        if (p.Liveness != PathLiveness.Up || p.BytesInFlight <= 0)
        {
            return long.MaxValue;
        }
        var oldest = OldestInFlightSentUs(p);
        if (oldest == long.MaxValue)
        {
            return long.MaxValue;
        }
        var silentSince = Math.Max(oldest, p.LastAckUs);
        return p.StallReinjected ? silentSince + DownTimeoutUs(p) : Math.Min(oldest + StallTimeoutUs(p), silentSince + DownTimeoutUs(p));
    }

    private void CheckLiveness(PathState p, long nowUs)
    {
        if (p.Liveness != PathLiveness.Up || p.BytesInFlight <= 0)
        {
            return;
        }
        var oldest = OldestInFlightSentUs(p);
        if (oldest == long.MaxValue)
        {
            return;
        }
        if (nowUs - Math.Max(oldest, p.LastAckUs) >= DownTimeoutUs(p))
        {
            MarkDown(p, nowUs);
            return;
        }
        if (!p.StallReinjected && nowUs - oldest >= StallTimeoutUs(p))
        {
            // Stuck data holds up the receiver's reorder buffer: copy all of it onto the other paths now.
            p.Stalled = true;
            p.StallReinjected = true;
            p.NextProbeUs = nowUs;
            Reinject(p, nowUs, declareLost: false);
        }
    }

    private void MarkDown(PathState p, long nowUs)
    {
        p.Liveness = PathLiveness.Down;
        p.Stalled = false;
        Reinject(p, nowUs, declareLost: true);
        p.Controller.Reset(nowUs);
        p.NextProbeUs = nowUs;
    }

    /// <summary>Sends the path's unacknowledged data again on the other paths, each packet at most once.</summary>
    private void Reinject(PathState p, long nowUs, bool declareLost)
    {
        var sent = p.Sent;
        for (var pn = sent.Oldest; pn < sent.Next; pn++)
        {
            ref var sp = ref sent[pn];
            if (!sp.InFlight)
            {
                continue;
            }
            if (declareLost)
            {
                DeclareLost(p, ref sp, nowUs);
                continue;
            }
            CopyForRepair(p, ref sp);
        }
        sent.Trim();
    }

    private long NextProbeTime(PathState p)
    {
        if (!p.LinkPresent)
        {
            return long.MaxValue;
        }
        if (p.Liveness == PathLiveness.Down || p.Stalled)
        {
            return p.NextProbeUs;
        }
        if (p.LastSendUs == long.MinValue)
        {
            return _lastNowUs;
        }
        var t = p.LastSendUs + IdleProbeUs;
        if (_lastDataSendUs > p.LastSendUs)
        {
            // Data flows elsewhere while this path is quiet: tell the receiver not to wait for it.
            t = Math.Min(t, p.LastSendUs + WatermarkProbeUs);
        }
        return t;
    }

    // ------------------------------------------------------------------ output

    /// <summary>
    /// Writes the next datagram to send into <paramref name="destination"/> (at least MaxDatagramSize bytes)
    /// and names its path. False when nothing may be sent now.
    /// </summary>
    public bool TryPollDatagram(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        _lastNowUs = nowUs;
        length = 0;
        pathId = -1;
        if (destination.Length < _options.MaxDatagramSize)
        {
            throw new ArgumentException($"destination must hold {_options.MaxDatagramSize} bytes", nameof(destination));
        }
        if (TryWriteControl(nowUs, destination, out length, out pathId)
            || TryWriteAck(nowUs, destination, out length, out pathId))
        {
            return true;
        }
        if (!_established || _closed || (_keyRing is not null && !_keyRing.CanSend(nowUs)))
        {
            return false;
        }
        return TryWriteProbe(nowUs, destination, out length, out pathId)
            || TryWriteDuplicate(nowUs, destination, out length, out pathId)
            || TryWriteData(nowUs, destination, out length, out pathId);
    }

    private bool TryWriteControl(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        length = 0;
        pathId = -1;
        if (_keyRing is not null)
        {
            return TryWriteInitiation(nowUs, destination, out length, out pathId);
        }
        if (Role == SessionRole.Initiator && !_established && nowUs >= _nextHelloUs)
        {
            if (_helloPathsPending == 0)
            {
                _helloPathsPending = AllPathsMask;
            }
            var i = System.Numerics.BitOperations.TrailingZeroCount(_helloPathsPending);
            _helloPathsPending &= ~(1u << i);
            if (_helloPathsPending == 0)
            {
                _nextHelloUs = nowUs + HelloIntervalUs;
            }
            var plainLength = ControlFrames.WriteHello(destination[HeaderSize..], LocalSessionId, (byte)_paths.Length, (ushort)_options.MaxDatagramSize);
            length = Seal(_paths[i], PacketType.Hello, 0, destination, plainLength, nowUs, ackEliciting: false, out _);
            pathId = i;
            return true;
        }
        if (_helloReplyPathsPending != 0)
        {
            var i = System.Numerics.BitOperations.TrailingZeroCount(_helloReplyPathsPending);
            _helloReplyPathsPending &= ~(1u << i);
            var plainLength = ControlFrames.WriteHelloReply(destination[HeaderSize..], _peerSessionId, LocalSessionId, (byte)_paths.Length);
            length = Seal(_paths[i], PacketType.HelloReply, _peerSessionId, destination, plainLength, nowUs, ackEliciting: false, out _);
            pathId = i;
            return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ handshake (security layer)

    /// <summary>When the security layer next has something to do: a handshake (retry) or a key expiry.</summary>
    private long SecurityTimerUs()
    {
        var ring = _keyRing!;
        var t = ring.NextTimerUs;
        if (Role == SessionRole.Initiator && !HandshakeGaveUp)
        {
            if (_handshake is not null)
            {
                // The ring's rekey time has passed while the attempt runs: the attempt's retry is what is due.
                if (t <= _lastNowUs)
                {
                    t = long.MaxValue;
                }
                t = Math.Min(t, _handshakeSentUs + HandshakeRetryUs());
            }
            else if (ring.Current is null)
            {
                t = _lastNowUs;
            }
        }
        return t;
    }

    private long HandshakeRetryUs() =>
        _keyRing!.Current is null ? SessionSecurity.FirstContactRetryUs : _security!.Policy.RekeyTimeoutUs;

    /// <summary>Initiator: starts an attempt when there are no keys or they are due, and a new one when the last went unanswered.</summary>
    private void MaybeStartHandshake(long nowUs)
    {
        if (Role != SessionRole.Initiator || _keyRing is null || _security?.Local is null || HandshakeGaveUp)
        {
            return;
        }
        if (!_keyRing.NeedsRekey(nowUs))
        {
            return;
        }
        if (_handshake is not null && nowUs - _handshakeSentUs < HandshakeRetryUs())
        {
            return;
        }
        if (_handshake is null)
        {
            _attemptsStartedUs = nowUs; // the first attempt of a series (session start, or keys due)
        }
        else
        {
            HandshakeAttemptsTimedOut++;
            if (nowUs - _attemptsStartedUs >= _security.Policy.RekeyAttemptUs)
            {
                GiveUpHandshake();
                return;
            }
        }
        _handshake?.Dispose();
        // Timestamps only grow: wall clock at creation plus elapsed monotonic time.
        var timestamp = Math.Max(_security.TimestampBaseUs + (ulong)Math.Max(0, nowUs - _createdUs), _lastTimestamp + 1);
        _lastTimestamp = timestamp;
        uint index;
        do
        {
            index = TransportKeys.RandomIndex();
        }
        while (_keyRing.OwnsIndex(index));
        _handshake = new HandshakeInitiator(_security.Local, _security.Peer, index, (byte)_paths.Length, (ushort)_options.MaxDatagramSize, timestamp, _cookies!, _security.InsecureNullTransport);
        _handshakeSentUs = nowUs;
        _initiationPathsPending = AllPathsMask;
    }

    /// <summary>
    /// WireGuard's rule: after <see cref="RekeyPolicy.RekeyAttemptUs"/> of unanswered attempts, stop. Keys still
    /// within their reject-after age would go on working for a while, but a peer that answers no handshake for
    /// 90 s is gone or refuses us; dropping them now makes the loss visible instead of letting traffic die silently
    /// at the reject-after limit.
    /// </summary>
    private void GiveUpHandshake()
    {
        _handshake?.Dispose();
        _handshake = null;
        _initiationPathsPending = 0;
        _confirmPathsPending = 0;
        _keyRing!.Clear();
        _established = false;
        HandshakeGaveUp = true;
    }

    private bool TryWriteInitiation(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        length = 0;
        pathId = -1;
        MaybeStartHandshake(nowUs);
        if (_handshake is null || _initiationPathsPending == 0)
        {
            return false;
        }
        var i = System.Numerics.BitOperations.TrailingZeroCount(_initiationPathsPending);
        _initiationPathsPending &= ~(1u << i);
        // The same initiation goes out on every path: the first copy to arrive is answered, so one dead
        // path cannot stall the handshake. The clear packet number tells the proxy whether this session is new.
        length = _handshake.WriteInitiation(destination, (byte)i, _established ? InitiationRekeys : InitiationOpensSession, nowUs);
        pathId = i;
        InitiationsSent++;
        return true;
    }

    private void ReceiveHandshakeResponse(ReadOnlySpan<byte> datagram, long nowUs)
    {
        if (Role != SessionRole.Initiator || _handshake is null)
        {
            Drops.Increment(DropReason.UnknownSession);
            return;
        }
        if (!_handshake.TryReadResponse(datagram, nowUs, out var keys, out var reason) || keys is null)
        {
            Drops.Increment(reason);
            return;
        }
        _keyRing!.Install(keys, nowUs);
        _handshake.Dispose();
        _handshake = null;
        _initiationPathsPending = 0;
        _established = true;
        _closed = false;
        _confirmPathsPending = AllPathsMask;
        HandshakesCompleted++;
    }

    private void ReceiveCookieReply(ReadOnlySpan<byte> datagram, byte pathId, long nowUs)
    {
        if (Role != SessionRole.Initiator || _handshake is null)
        {
            Drops.Increment(DropReason.UnknownSession);
            return;
        }
        if (!_handshake.TryReadCookieReply(datagram, nowUs, out var reason))
        {
            Drops.Increment(reason);
            return;
        }
        // The proxy is under load and did no work for our initiation: send it again on that path, now with mac2.
        _initiationPathsPending |= 1u << pathId;
    }

    /// <summary>
    /// Responder: answers an initiation the daemon has read, checked and matched to this session's peer
    /// (docs/security.md, "Denial of service"). Writes the response (send it on <see cref="ResponderHandshake.PathId"/>
    /// to where the initiation came from) and installs the new keys, which seal once the initiator's first
    /// datagram under them arrives.
    /// </summary>
    /// <param name="localIndex">A fresh non-zero index, unique among the daemon's live indices; map it to this session.</param>
    /// <returns>The response's length.</returns>
    public int AcceptHandshake(ResponderHandshake handshake, uint localIndex, Span<byte> destination, long nowUs)
    {
        ArgumentNullException.ThrowIfNull(handshake);
        if (_keyRing is null || Role != SessionRole.Responder)
        {
            throw new InvalidOperationException("Only a responder session with the security layer accepts handshakes.");
        }
        if (handshake.PathCount != _paths.Length)
        {
            throw new ArgumentException($"The initiation asks for {handshake.PathCount} paths; this session has {_paths.Length}.", nameof(handshake));
        }
        _lastNowUs = nowUs;
        var length = handshake.WriteResponse(localIndex, destination, 0, nowUs, out var keys);
        _keyRing.Install(keys, nowUs);
        HandshakesCompleted++;
        return length;
    }

    private bool TryWriteAck(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        length = 0;
        pathId = -1;
        if (!CanSendTransport(nowUs))
        {
            return false;
        }
        PathState? due = null;
        foreach (var p in _paths)
        {
            if (p.AckInfoPending && (p.AckElicitingUnacked >= AckEveryPackets || p.AckDueUs <= nowUs))
            {
                due = p;
                break;
            }
        }
        if (due is null)
        {
            return false;
        }
        // One ack reports every path with news, so feedback survives the loss of any one path.
        var blocks = 0;
        var rangeCount = 0;
        foreach (var p in _paths)
        {
            if (!p.AckInfoPending && p != due)
            {
                continue;
            }
            if (p.Received.IsEmpty)
            {
                p.AckInfoPending = false;
                continue;
            }
            var n = p.Received.CopyTo(_ackRanges.AsSpan(rangeCount));
            _ackBlocks[blocks++] = new AckBlock
            {
                PathId = (byte)p.Id,
                AckDelayUs = nowUs - p.LargestReceivedUs,
                RxTimeLargestUs = (uint)p.LargestReceivedUs,
                RangeStart = rangeCount,
                RangeCount = n,
            };
            rangeCount += n;
            p.AckInfoPending = false;
            p.AckElicitingUnacked = 0;
            p.AckDueUs = long.MaxValue;
        }
        if (blocks == 0)
        {
            return false;
        }
        var target = NextFeedbackPath() ?? due;
        var plainLength = AckFrame.Write(destination[HeaderSize..], _ackBlocks.AsSpan(0, blocks), _ackRanges.AsSpan(0, rangeCount));
        length = Seal(target, PacketType.Ack, SendReceiverId, destination, plainLength, nowUs, ackEliciting: false, out _);
        pathId = target.Id;
        return true;
    }

    /// <summary>
    /// Acks take turns on the usable paths: each one reports every path, so feedback keeps flowing
    /// when one link's uplink dies while its downlink still carries data (common on mobile links).
    /// </summary>
    private PathState? NextFeedbackPath()
    {
        for (var k = 0; k < _paths.Length; k++)
        {
            var p = _paths[(_nextFeedbackPath + k) % _paths.Length];
            if (p.IsUsable)
            {
                _nextFeedbackPath = (p.Id + 1) % _paths.Length;
                return p;
            }
        }
        return null;
    }

    private bool TryWriteProbe(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        length = 0;
        pathId = -1;
        while (_confirmPathsPending != 0)
        {
            // New keys: a probe on every path at once, so the responder confirms them and every path's
            // feedback resumes under them without waiting for data.
            var c = System.Numerics.BitOperations.TrailingZeroCount(_confirmPathsPending);
            _confirmPathsPending &= ~(1u << c);
            if (!_paths[c].LinkPresent)
            {
                continue;
            }
            var m = ProbeFrame.Write(destination[HeaderSize..], (uint)_nextGseq, 0, 0);
            length = Seal(_paths[c], PacketType.Probe, SendReceiverId, destination, m, nowUs, ackEliciting: true, out _);
            pathId = c;
            return true;
        }
        if (_announceRepairs && NextFeedbackPath() is { } carrier)
        {
            // Tell the receiver, on a working path, that the stuck data is coming another way.
            _announceRepairs = false;
            var n = ProbeFrame.Write(destination[HeaderSize..], (uint)_nextGseq, ProbeFrame.RepairsFollow, 0);
            length = Seal(carrier, PacketType.Probe, SendReceiverId, destination, n, nowUs, ackEliciting: true, out _);
            pathId = carrier.Id;
            return true;
        }
        foreach (var p in _paths)
        {
            if (NextProbeTime(p) > nowUs)
            {
                continue;
            }
            if (p.Liveness == PathLiveness.Down || p.Stalled)
            {
                p.NextProbeUs = nowUs + (p.Liveness == PathLiveness.Down ? DownProbeUs : Math.Max(p.Rtt.SmoothedUs, 10_000));
            }
            var plainLength = ProbeFrame.Write(destination[HeaderSize..], (uint)_nextGseq, 0, 0);
            length = Seal(p, PacketType.Probe, SendReceiverId, destination, plainLength, nowUs, ackEliciting: true, out _);
            pathId = p.Id;
            return true;
        }
        return false;
    }

    private bool TryWriteData(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        length = 0;
        pathId = -1;
        var queued = _repairs.Count + _sendQueue.Count;
        if (queued == 0)
        {
            return false;
        }
        var datagramBytes = _options.MaxDatagramSize;
        var i = _scheduler.SelectPath(_paths, new ScheduleRequest(nowUs, datagramBytes, queued, nowUs - _backlogSinceUs, _repairs.Count > 0), out _dataRetryUs);
        if (i < 0)
        {
            return false;
        }
        PacketBuffer inner;
        long gseq;
        long firstSentUs;
        // Copies whose original was acknowledged meanwhile are released unsent. A copy never goes on the path
        // its original is queued on (it would arrive after it): new data goes there instead while the copy waits
        // for another path, and with no new data or no other path, the copy is released (its original is still on
        // its way; if that is lost, it is repaired as any loss). A copy whose original was lost is its repair.
        Repair repair;
        var isRepair = false;
        while (_repairs.TryPeek(out repair))
        {
            if (!repair.Cancelled && (repair.AvoidPath != i || !OriginalInFlight(repair)))
            {
                isRepair = true;
                break;
            }
            if (!repair.Cancelled && _sendQueue.Count > 0 && AnotherPathUsable(_paths[i]))
            {
                break;
            }
            _repairs.TryTake(out repair);
            _pool.Return(repair.Inner);
            if (repair.AvoidPath >= 0)
            {
                _paths[repair.AvoidPath].PacketsRepaired--;
            }
            RepairsWithheld++;
            if (!repair.Cancelled)
            {
                // Released unsent while its original is still in flight on this path (AvoidPath == i): the original
                // may be copied again later if it turns out lost.
                _paths[repair.AvoidPath].Sent[repair.OriginPn].Repaired = false;
            }
        }
        if (!isRepair && _sendQueue.Count == 0)
        {
            return false;
        }
        if (isRepair)
        {
            _repairs.TryTake(out repair);
            inner = repair.Inner;
            gseq = repair.Gseq;
            firstSentUs = repair.FirstSentUs;
        }
        else
        {
            // Waiting here for the fast path instead of taking a slower one is the ECF rule at work,
            // not a standing queue: CoDel's target grows by the paths' delay spread.
            _sendQueue.TargetUs = _options.CodelTargetUs + PathDelaySpreadUs();
            if (!_sendQueue.TryDequeue(nowUs, out var fresh))
            {
                return false; // CoDel dropped what was queued
            }
            inner = fresh;
            gseq = _nextGseq++;
            _outstanding.Add(gseq, fresh.Tag, nowUs);
            if (_sendQueue.Count == 0)
            {
                _queueEmptySinceUs = nowUs;
            }
            firstSentUs = nowUs;
        }
        // Small packets (TCP acks, DNS, voice) are cheap to send twice and costly to have stuck behind
        // a link that just stalled: a copy follows on the next-best path.
        var duplicate = !isRepair && inner.Length <= SmallPacketBytes && _duplicate is null && UsablePathCount() >= 2;
        length = WriteData(_paths[i], inner, gseq, firstSentUs, isRepair || duplicate, destination, nowUs);
        if (duplicate)
        {
            _duplicate = _pool.Rent(inner.ReadOnlySpan);
            _duplicate.Tag = inner.Tag;
            _duplicateGseq = gseq;
            _duplicateFirstSentUs = firstSentUs;
            _duplicateNotOnPath = i;
        }
        _scheduler.OnSent(_paths[i], length, nowUs);
        pathId = i;
        return true;
    }

    private bool TryWriteDuplicate(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        length = 0;
        pathId = -1;
        if (_duplicate is null)
        {
            return false;
        }
        PathState? best = null;
        foreach (var p in _paths)
        {
            if (p.Id != _duplicateNotOnPath && p.IsUsable && p.HasWindowRoom(_duplicate.Length, urgent: true)
                && (best is null || p.OneWayDelayEstimateUs < best.OneWayDelayEstimateUs))
            {
                best = p;
            }
        }
        var inner = _duplicate;
        _duplicate = null;
        if (best is null)
        {
            _pool.Return(inner);
            return false;
        }
        length = WriteData(best, inner, _duplicateGseq, _duplicateFirstSentUs, repaired: true, destination, nowUs);
        pathId = best.Id;
        return true;
    }

    private long PathDelaySpreadUs()
    {
        long min = long.MaxValue, max = 0;
        foreach (var p in _paths)
        {
            if (p.IsUsable && p.Rtt.HasSample)
            {
                var d = p.OneWayDelayEstimateUs;
                min = Math.Min(min, d);
                max = Math.Max(max, d);
            }
        }
        return max > min ? max - min : 0;
    }

    /// <summary>The original of a copy is still on its way (not acknowledged, not declared lost).</summary>
    private bool OriginalInFlight(in Repair repair)
    {
        if (repair.AvoidPath < 0)
        {
            return false;
        }
        var sent = _paths[repair.AvoidPath].Sent;
        if (!sent.Contains(repair.OriginPn))
        {
            return false;
        }
        ref var sp = ref sent[repair.OriginPn];
        return sp.InFlight && sp.Gseq == repair.Gseq;
    }

    /// <summary>Some path other than <paramref name="p"/> could carry a copy of its late packets now.</summary>
    private bool AnotherPathUsable(PathState p) => UsablePathCount() > (p.IsUsable ? 1 : 0);

    private int UsablePathCount()
    {
        var n = 0;
        foreach (var p in _paths)
        {
            if (p.IsUsable)
            {
                n++;
            }
        }
        return n;
    }

    /// <summary>
    /// Seals one data packet on <paramref name="p"/>, which keeps <paramref name="inner"/> until it is acknowledged.
    /// The buffer's tag is the inner flow's bucket (set by the sender queue, kept on copies).
    /// </summary>
    private int WriteData(PathState p, PacketBuffer inner, long gseq, long firstSentUs, bool repaired, Span<byte> destination, long nowUs)
    {
        var plain = destination[HeaderSize..];
        DataFrame.WriteHeader(plain, (uint)gseq);
        inner.ReadOnlySpan.CopyTo(plain[DataFrame.HeaderSize..]);
        var type = _outstanding.Classify(gseq, inner.Tag, p.Id) switch
        {
            ExpressKind.Express => PacketType.DataExpress,
            ExpressKind.ExpressOnPath => PacketType.DataExpressOnPath,
            _ => PacketType.Data,
        };
        if (type != PacketType.Data)
        {
            ExpressSent++;
        }
        _outstanding.SentOn(gseq, p.Id);
        var length = Seal(p, type, SendReceiverId, destination, DataFrame.HeaderSize + inner.Length, nowUs, ackEliciting: true, out var pn);
        ref var sp = ref p.Sent[pn];
        sp.Inner = inner;
        sp.Data = true;
        sp.Gseq = gseq;
        sp.FirstSentUs = firstSentUs;
        sp.Repaired = repaired;
        // App-limited, BBR's way: from the moment the path had room but nothing to send (the queue ran
        // empty, or the path sat idle with nothing in flight), every packet until that moment's data is
        // delivered gives a rate sample that measures the sender, not the path. Without this, the
        // first packets after an idle spell (inner TCP in recovery, the scheduler preferring another
        // path) report a trickle, the rate filter takes it, and the path's window collapses for seconds.
        // (A path merely below its window is not app-limited here: the scheduler passes over a path
        // whose queue has grown, and that path's rate estimate must still be able to fall.)
        if (_sendQueue.Count == 0 && _repairs.Count == 0)
        {
            p.AppLimitedUntil = p.Delivered + p.BytesInFlight;
        }
        sp.AppLimited = p.AppLimitedUntil > p.Delivered;
        p.DataBytesSent += inner.Length;
        _lastDataSendUs = nowUs;
        // Pacing: at most two packets or 1 ms of credit, as Linux paces: bursts that short fit any
        // modem queue and let the datapath hand the kernel batches (measured: 0.17 -> 0.30 of raw forwarding).
        var interval = p.PacingIntervalUs(length);
        p.NextSendUs = Math.Max(p.NextSendUs, nowUs - Math.Max(2 * interval, 1_000)) + interval;
        return length;
    }

    /// <summary>Writes the clear header, seals the plaintext behind it, and records the packet on the path.</summary>
    private int Seal(PathState p, PacketType type, uint receiverId, Span<byte> destination, int plainLength, long nowUs, bool ackEliciting, out ulong pn)
    {
        if (p.Sent.IsFull)
        {
            // The ring holds one path's packets from the oldest unresolved one: when it is full, the oldest is given up.
            ref var oldest = ref p.Sent[p.Sent.Oldest];
            if (oldest.InFlight)
            {
                DeclareLost(p, ref oldest, nowUs);
            }
            else if (oldest.Inner is not null)
            {
                _pool.Return(oldest.Inner);
                oldest.Inner = null;
            }
            p.Sent.Trim();
        }
        ref var sp = ref p.Sent.Add(out pn);
        new ClearHeader(type, receiverId, (byte)p.Id, pn).Write(destination);
        var length = _seal.Seal(destination, HeaderSize, plainLength, new ClearHeader(type, receiverId, (byte)p.Id, pn).Nonce);
        sp.SentUs = nowUs;
        sp.Bytes = length;
        sp.AckEliciting = ackEliciting;
        if (ackEliciting)
        {
            sp.InFlight = true;
            p.BytesInFlight += length;
            sp.DeliveredAtSend = p.Delivered;
            sp.DeliveredRxTimeAtSend = p.DeliveredRxTime;
            sp.HasDeliveredSnapshot = p.HasDeliveredRxTime;
            // Probes and keepalives measure nothing about capacity; data packets decide for themselves (WriteData).
            sp.AppLimited = true;
            p.Controller.OnPacketSent(nowUs, length, p.BytesInFlight);
        }
        p.PacketsSent++;
        p.BytesSent += length;
        p.LastSendUs = nowUs;
        return length;
    }

    /// <summary>Copies the next in-order inner packet into <paramref name="destination"/>. False when none is ready.</summary>
    public bool TryPollInner(Span<byte> destination, out int length)
    {
        length = 0;
        var released = _reorder.TryRelease(_lastNowUs, out var packet);
        if (!released || packet is null)
        {
            return false;
        }
        packet.ReadOnlySpan.CopyTo(destination);
        length = packet.Length;
        LastReleaseHoldUs = _lastNowUs - packet.TimestampUs;
        _pool.Return(packet);
        return true;
    }

    // ------------------------------------------------------------------ link layer

    /// <summary>The link layer reports an interface gone or back: stop or resume using the path at once.</summary>
    public void SetPathUp(int pathId, bool up, long nowUs)
    {
        _lastNowUs = nowUs;
        var p = _paths[pathId];
        if (p.LinkPresent == up)
        {
            return;
        }
        p.LinkPresent = up;
        if (!up)
        {
            MarkDown(p, nowUs);
            _reorder.SetPathActive(pathId, false, nowUs);
        }
        else
        {
            p.NextProbeUs = nowUs;
        }
    }

    /// <summary>Releases the keys and any handshake in progress (security layer); nothing to do with a stand-in seal. The session cannot send or receive afterwards.</summary>
    public void ReleaseKeys()
    {
        _handshake?.Dispose();
        _handshake = null;
        _keyRing?.Dispose();
    }

    public PathStats GetPathStats(int pathId)
    {
        var p = _paths[pathId];
        return new PathStats(
            pathId,
            p.Liveness == PathLiveness.Up && p.LinkPresent,
            p.Rtt.HasSample ? p.Rtt.SmoothedUs : 0,
            p.Rtt.HasSample ? p.Rtt.MinUs : 0,
            p.Rtt.LatestUs,
            p.Controller.PacingRate,
            p.Controller.CongestionWindow,
            p.BytesInFlight,
            p.PacketsSent,
            p.BytesSent,
            p.DataBytesSent,
            p.PacketsLost,
            p.PacketsRepaired,
            p.QueueDelayUs);
    }
}
