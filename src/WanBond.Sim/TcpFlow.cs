namespace WanBond.Sim;

/// <summary>
/// A backlogged TCP NewReno sender (RFC 5681, RFC 6582) and its receiver, in whole segments.
/// Slow start (initial window 10, byte counting with L = 2), congestion avoidance, fast
/// retransmit on the third duplicate ack, fast recovery with NewReno partial acks
/// (the "impatient" variant RFC 6582 recommends: the timer restarts only on the first partial ack, so a window with many losses ends in a timeout and go-back-N rather than one repair per RTT), RTO per RFC 6298
/// (initial 1 s, minimum 200 ms, maximum 60 s, doubling backoff, go-back-N after a timeout).
/// The receiver acks every segment cumulatively (no SACK, unlimited window) and echoes
/// the segment's send timestamp, so every new ack yields an unambiguous RTT sample.
/// With HyStart on, slow start also ends as Linux's delay detection ends it (tcp_cubic.c): from a window of
/// 16 segments, when the least of a round's first 8 RTT samples exceeds the least RTT seen by an eighth
/// of it, clamped to 4-16 ms. (Linux's ack-train detection is not modelled.)
/// </summary>
internal sealed class TcpFlow
{
    private const int InitialWindow = 10;
    private const long MinRtoUs = 200_000;
    private const long MaxRtoUs = 60_000_000;
    private const long ClockGranularityUs = 1_000;
    private const int HyStartLowWindow = 16;
    private const int HyStartMinSamples = 8;
    private const long HyStartDelayMinUs = 4_000;
    private const long HyStartDelayMaxUs = 16_000;

    private readonly Simulation _sim;
    private readonly byte[] _tx = new byte[Core.Buffers.PacketBuffer.Capacity];

    // Sender
    private long _sndUna;
    private long _sndNxt;
    private long _highSent;
    private long _recover = -1;
    private double _cwnd = InitialWindow;
    private double _ssthresh = double.MaxValue;
    private int _dupAcks;
    private bool _inRecovery;
    private bool _partialAckSeen;
    private bool _hasRtt;
    private long _srttUs;
    private long _rttvarUs;
    private long _rtoUs = 1_000_000;
    private long _rtoDeadline = long.MaxValue;
    private long _timerEventAt = long.MaxValue;
    private bool _started;
    private readonly bool _hyStart;
    private long _delayMinUs = long.MaxValue;
    private long _roundEnd = -1; // the round ends when this segment is acked
    private long _roundMinUs;
    private int _roundSamples;

    // Receiver: next expected segment and a ring bitmap of segments received above it.
    private long _rcvNxt;
    private ulong[] _ooo = new ulong[64];
    private int _segmentBytes;

    public TcpFlow(Simulation sim, int id, long startOffsetUs, bool hyStart = false)
    {
        _sim = sim;
        _hyStart = hyStart;
        Id = id;
        StartOffsetUs = startOffsetUs;
    }

    public int Id { get; }

    public long StartOffsetUs { get; }

    public double CongestionWindow => _cwnd;

    /// <summary>The window at which HyStart ended slow start, 0 if it has not.</summary>
    public double HyStartExitWindow { get; private set; }

    public void Start(long nowUs)
    {
        _started = true;
        Transmit(nowUs);
    }

    public void OnAck(long ack, long echoUs, long nowUs)
    {
        if (!_started)
        {
            return;
        }
        if (ack > _sndUna)
        {
            var rttUs = Math.Max(1, nowUs - echoUs);
            UpdateRto(rttUs);
            if (_hyStart && !_inRecovery && _cwnd < _ssthresh)
            {
                HyStartSample(ack, rttUs);
            }
            long newly = ack - _sndUna;
            _sndUna = ack;
            _sndNxt = Math.Max(_sndNxt, _sndUna);
            if (_inRecovery)
            {
                if (ack > _recover)
                {
                    _inRecovery = false;
                    _cwnd = Math.Min(_ssthresh, (_sndNxt - _sndUna) + 1);
                    _dupAcks = 0;
                }
                else
                {
                    Send(_sndUna, nowUs);
                    _cwnd = Math.Max(1, _cwnd - newly + 1);
                    if (!_partialAckSeen)
                    {
                        _partialAckSeen = true;
                        SetTimer(nowUs + _rtoUs);
                    }
                }
            }
            else
            {
                _dupAcks = 0;
                _cwnd += _cwnd < _ssthresh ? Math.Min(newly, 2) : newly / _cwnd;
            }
            if (!_inRecovery)
            {
                SetTimer(_sndUna == _highSent ? long.MaxValue : nowUs + _rtoUs);
            }
        }
        else if (ack == _sndUna && _highSent > _sndUna)
        {
            _dupAcks++;
            if (_inRecovery)
            {
                _cwnd += 1;
            }
            else if (_dupAcks == 3 && ack > _recover)
            {
                _ssthresh = Math.Max((_sndNxt - _sndUna) / 2.0, 2);
                _recover = _highSent - 1;
                _inRecovery = true;
                _partialAckSeen = false;
                _sim.Metrics.InnerFastRecoveries++;
                Send(_sndUna, nowUs);
                _cwnd = _ssthresh + 3;
            }
        }
        Transmit(nowUs);
    }

    public void OnTimer(long eventUs)
    {
        if (eventUs != _timerEventAt)
        {
            return; // superseded by an earlier event
        }
        _timerEventAt = long.MaxValue;
        if (_rtoDeadline == long.MaxValue)
        {
            return;
        }
        if (_rtoDeadline > eventUs)
        {
            SetTimer(_rtoDeadline); // the deadline moved later since this event was scheduled
            return;
        }
        // Retransmission timeout.
        _sim.Metrics.InnerTimeouts++;
        _ssthresh = Math.Max((_sndNxt - _sndUna) / 2.0, 2);
        _cwnd = 1;
        _recover = _highSent - 1;
        _inRecovery = false;
        _dupAcks = 0;
        _sndNxt = _sndUna;
        _rtoUs = Math.Min(_rtoUs * 2, MaxRtoUs);
        _rtoDeadline = long.MaxValue;
        Transmit(eventUs);
        SetTimer(eventUs + _rtoUs);
    }

    public void OnData(long seq, long sentUs, int packetBytes, long nowUs)
    {
        _sim.Metrics.AddDelaySample(nowUs - sentUs);
        _segmentBytes = packetBytes;
        if (seq == _rcvNxt)
        {
            _sim.Metrics.AddGoodputBytes(packetBytes);
            _rcvNxt++;
            while (TestAndClear(_rcvNxt))
            {
                _sim.Metrics.AddGoodputBytes(_segmentBytes);
                _rcvNxt++;
            }
        }
        else if (seq > _rcvNxt)
        {
            Mark(seq);
        }
        InnerPacket.Write(_tx, InnerPacket.TcpAckBytes, InnerPacket.KindTcpAck, Id, _rcvNxt, sentUs, !_sim.DataFromProxy, Mss);
        if (!_sim.DataReceiver.Submit(_tx.AsSpan(0, InnerPacket.TcpAckBytes), nowUs))
        {
            _sim.Metrics.SenderQueueDrops++;
        }
    }

    private int PacketBytes => _sim.DataSender.InnerMtu;

    private int Mss => PacketBytes - InnerPacket.Ipv4HeaderBytes - InnerPacket.TcpHeaderBytes;

    private void Transmit(long nowUs)
    {
        long limit = _sim.TcpSegmentLimit;
        while (_sndNxt - _sndUna < (long)_cwnd && (limit == 0 || _sndNxt < limit))
        {
            Send(_sndNxt, nowUs);
            _sndNxt++;
        }
    }

    private void Send(long seq, long nowUs)
    {
        if (seq < _highSent)
        {
            _sim.Metrics.InnerRetransmits++;
        }
        else
        {
            _highSent = seq + 1;
        }
        int size = PacketBytes;
        InnerPacket.Write(_tx, size, InnerPacket.KindTcpData, Id, seq, nowUs, _sim.DataFromProxy, Mss);
        if (!_sim.DataSender.Submit(_tx.AsSpan(0, size), nowUs))
        {
            _sim.Metrics.SenderQueueDrops++;
        }
        if (_rtoDeadline == long.MaxValue)
        {
            SetTimer(nowUs + _rtoUs);
        }
    }

    // Linux's HyStart delay detection (tcp_cubic.c, hystart_update): a round is one window of data.
    private void HyStartSample(long ack, long rttUs)
    {
        _delayMinUs = Math.Min(_delayMinUs, rttUs);
        if (ack > _roundEnd)
        {
            _roundEnd = _highSent;
            _roundMinUs = long.MaxValue;
            _roundSamples = 0;
        }
        if (_cwnd < HyStartLowWindow || _roundSamples >= HyStartMinSamples)
        {
            return;
        }
        _roundMinUs = Math.Min(_roundMinUs, rttUs);
        if (++_roundSamples == HyStartMinSamples
            && _roundMinUs >= _delayMinUs + Math.Clamp(_delayMinUs / 8, HyStartDelayMinUs, HyStartDelayMaxUs))
        {
            _ssthresh = _cwnd;
            HyStartExitWindow = _cwnd;
        }
    }

    private void UpdateRto(long sampleUs)
    {
        if (!_hasRtt)
        {
            _hasRtt = true;
            _srttUs = sampleUs;
            _rttvarUs = sampleUs / 2;
        }
        else
        {
            _rttvarUs = ((3 * _rttvarUs) + Math.Abs(_srttUs - sampleUs)) / 4;
            _srttUs = ((7 * _srttUs) + sampleUs) / 8;
        }
        _rtoUs = Math.Clamp(_srttUs + Math.Max(ClockGranularityUs, 4 * _rttvarUs), MinRtoUs, MaxRtoUs);
    }

    /// <summary>Lazy timer: one pending event per flow; a later deadline is picked up when the event fires.</summary>
    private void SetTimer(long deadline)
    {
        _rtoDeadline = deadline;
        if (deadline < _timerEventAt)
        {
            _timerEventAt = deadline;
            _sim.Schedule(deadline, EventKind.FlowTimer, Id);
        }
    }

    private void Mark(long seq)
    {
        while (seq - _rcvNxt >= (long)_ooo.Length * 64)
        {
            Grow();
        }
        long bit = seq & (((long)_ooo.Length * 64) - 1);
        _ooo[bit >> 6] |= 1UL << (int)(bit & 63);
    }

    private bool TestAndClear(long seq)
    {
        long bit = seq & (((long)_ooo.Length * 64) - 1);
        ulong mask = 1UL << (int)(bit & 63);
        if ((_ooo[bit >> 6] & mask) == 0)
        {
            return false;
        }
        _ooo[bit >> 6] &= ~mask;
        return true;
    }

    private void Grow()
    {
        var old = _ooo;
        long oldBits = (long)old.Length * 64;
        _ooo = new ulong[old.Length * 2];
        long newMask = ((long)_ooo.Length * 64) - 1;
        for (long s = _rcvNxt; s < _rcvNxt + oldBits; s++)
        {
            long b = s & (oldBits - 1);
            if ((old[b >> 6] & (1UL << (int)(b & 63))) != 0)
            {
                long nb = s & newMask;
                _ooo[nb >> 6] |= 1UL << (int)(nb & 63);
            }
        }
    }
}
