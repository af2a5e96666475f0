using WanBond.Core.Buffers;
using WanBond.Core.Sessions;

namespace WanBond.Sim;

/// <summary>
/// One end of the tunnel (router or proxy): an engine, or nothing in --no-tunnel mode,
/// wired to the outgoing direction of every link. Drives the engine sans-IO style: after each
/// input, drain datagrams and inner packets, then re-arm the single timer.
/// </summary>
internal sealed class Endpoint
{
    /// <summary>The largest packet (IPv4 MTU) used without the tunnel.</summary>
    public const int DirectMtu = 1500;

    private readonly Simulation _sim;
    private readonly PacketPool _pool;
    private readonly EventQueue _events;
    private readonly byte[] _rx = new byte[PacketBuffer.Capacity];
    private bool _draining;
    private bool _again;
    private long _lastTimerUs = -1;

    public Endpoint(Simulation sim, int id, Session? session, LinkDirection[] outgoing, PacketPool pool, EventQueue events)
    {
        _sim = sim;
        Id = id;
        Session = session;
        Outgoing = outgoing;
        _pool = pool;
        _events = events;
    }

    /// <summary>0 = router, 1 = proxy (also the EngineTimer event target).</summary>
    public int Id { get; }

    public Session? Session { get; }

    public LinkDirection[] Outgoing { get; }

    /// <summary>Time of the engine timer event that is currently valid; others are stale.</summary>
    public long ArmedUs { get; private set; } = long.MaxValue;

    public int InnerMtu => Session?.InnerMtu ?? DirectMtu;

    public bool IsEstablished => Session?.IsEstablished ?? true;

    /// <summary>Bytes waiting to be sent: the engine's send queue, or the link queue without the tunnel.</summary>
    public long SendQueueBytes => Session?.SendQueueBytes ?? Outgoing[0].QueuedBytes;

    /// <summary>Hands an inner packet to the engine (or straight to the link). False: the sender queue refused it.</summary>
    public bool Submit(ReadOnlySpan<byte> packet, long nowUs)
    {
        if (Session is null)
        {
            Outgoing[0].Enqueue(_pool.Rent(packet), nowUs);
            return true;
        }
        if (!Session.SubmitInner(packet, nowUs))
        {
            return false;
        }
        Drain(nowUs);
        return true;
    }

    public void OnArrival(int pathId, PacketBuffer packet, long nowUs)
    {
        if (Session is null)
        {
            _sim.DeliverInner(this, packet.ReadOnlySpan, nowUs, 0);
            _pool.Return(packet);
            return;
        }
        Session.ReceiveDatagram(pathId, packet.ReadOnlySpan, nowUs);
        _pool.Return(packet);
        Drain(nowUs);
    }

    public void OnTimer(long eventUs)
    {
        if (Session is null || eventUs != ArmedUs)
        {
            return; // stale: the engine has moved its deadline since this event was scheduled
        }
        ArmedUs = long.MaxValue;
        _lastTimerUs = eventUs;
        Session.HandleTimeout(eventUs);
        Drain(eventUs);
    }

    /// <summary>Start-up: lets the engine send its first datagrams (handshake) and arm its timer.</summary>
    public void Start(long nowUs)
    {
        if (Session is not null)
        {
            Drain(nowUs);
        }
    }

    private void Drain(long nowUs)
    {
        var session = Session!;
        if (_draining)
        {
            _again = true; // a packet submitted while we deliver inner packets: the outer loop polls again
            return;
        }
        _draining = true;
        do
        {
            _again = false;
            while (true)
            {
                _sim.BeforePoll(this, nowUs);
                var buffer = _pool.Rent();
                if (!session.TryPollDatagram(nowUs, buffer.Data, out int length, out int pathId))
                {
                    _pool.Return(buffer);
                    break;
                }
                if ((uint)pathId >= (uint)Outgoing.Length)
                {
                    throw new InvalidOperationException($"engine chose path {pathId}, but only {Outgoing.Length} exist");
                }
                buffer.Length = length;
                Outgoing[pathId].Enqueue(buffer, nowUs);
            }
            while (session.TryPollInner(_rx, out int length))
            {
                _sim.DeliverInner(this, _rx.AsSpan(0, length), nowUs, session.LastReleaseHoldUs);
            }
        }
        while (_again);
        _draining = false;

        long next = session.NextTimeoutUs;
        if (next == long.MaxValue)
        {
            ArmedUs = long.MaxValue;
            return;
        }
        long at = Math.Max(next, nowUs);
        if (at == _lastTimerUs)
        {
            at++; // the engine asked again for the instant it was just woken at: move on by 1 µs, never spin
        }
        if (at != ArmedUs)
        {
            ArmedUs = at;
            _events.Push(at, EventKind.EngineTimer, Id);
        }
    }
}
