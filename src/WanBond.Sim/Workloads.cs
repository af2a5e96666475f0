namespace WanBond.Sim;

/// <summary>Traffic model: produces inner packets at the data sender and consumes them at the far end.</summary>
internal abstract class Workload
{
    protected Workload(Simulation sim)
    {
        Sim = sim;
    }

    protected Simulation Sim { get; }

    /// <summary>Called after every event; workloads start once the sending engine is established.</summary>
    public abstract void AfterEvent(long nowUs);

    public virtual void OnTick(int target, long nowUs)
    {
    }

    /// <summary>Called each time the sending engine is about to be asked for its next datagram.</summary>
    public virtual void BeforePoll(long nowUs)
    {
    }

    public virtual void OnFlowTimer(int flow, long eventUs)
    {
    }

    public abstract void OnInner(Endpoint at, ReadOnlySpan<byte> packet, long nowUs);
}

/// <summary>One UDP flow whose sender is always backlogged: the sending engine's queue is kept topped up to a few packets.</summary>
internal sealed class BulkWorkload : Workload
{
    private const int MaxSubmitsPerEvent = 64;
    private readonly byte[] _tx = new byte[Core.Buffers.PacketBuffer.Capacity];
    private readonly int _backlogPackets;
    private long _nextSeq;
    private long _highestDelivered = -1;

    public BulkWorkload(Simulation sim, int backlogPackets)
        : base(sim)
    {
        _backlogPackets = backlogPackets;
    }

    public override void AfterEvent(long nowUs) => TopUp(nowUs);

    // Topped up before every poll too, so the engine never finds the queue empty mid-burst: an
    // always-backlogged sender is never app-limited, and the engine's rate samples must see that.
    public override void BeforePoll(long nowUs) => TopUp(nowUs);

    private void TopUp(long nowUs)
    {
        var sender = Sim.DataSender;
        int size = sender.InnerMtu;
        long target = (long)_backlogPackets * size;
        if (sender.SendQueueBytes >= target || !sender.IsEstablished)
        {
            return;
        }
        // Bounded per event so an engine that forwards without any pacing cannot spin the loop.
        for (int i = 0; i < MaxSubmitsPerEvent && sender.SendQueueBytes < target; i++)
        {
            InnerPacket.Write(_tx, size, InnerPacket.KindUdp, 0, _nextSeq, nowUs, Sim.DataFromProxy, 0);
            if (!sender.Submit(_tx.AsSpan(0, size), nowUs))
            {
                Sim.Metrics.SenderQueueDrops++;
                return;
            }
            _nextSeq++;
        }
    }

    public override void OnInner(Endpoint at, ReadOnlySpan<byte> packet, long nowUs)
    {
        if (at != Sim.DataReceiver || !InnerPacket.TryRead(packet, out var kind, out _, out long seq, out long ts) || kind != InnerPacket.KindUdp)
        {
            return;
        }
        if (seq > _highestDelivered)
        {
            _highestDelivered = seq;
            Sim.Metrics.AddGoodput(packet.Length, nowUs - ts);
        }
    }
}

/// <summary>One UDP flow at a constant bit rate of full-size packets.</summary>
internal sealed class CbrWorkload : Workload
{
    private readonly byte[] _tx = new byte[Core.Buffers.PacketBuffer.Capacity];
    private readonly double _mbps;
    private long _nextSeq;
    private long _highestDelivered = -1;
    private bool _started;
    private long _nextSendNs;

    public CbrWorkload(Simulation sim, double mbps)
        : base(sim)
    {
        _mbps = mbps;
    }

    public override void AfterEvent(long nowUs)
    {
        if (!_started && Sim.DataSender.IsEstablished)
        {
            _started = true;
            _nextSendNs = nowUs * 1000;
            Sim.Schedule(nowUs, EventKind.WorkloadTick, 0);
        }
    }

    public override void OnTick(int target, long nowUs)
    {
        var sender = Sim.DataSender;
        int size = sender.InnerMtu;
        InnerPacket.Write(_tx, size, InnerPacket.KindUdp, 0, _nextSeq++, nowUs, Sim.DataFromProxy, 0);
        if (!sender.Submit(_tx.AsSpan(0, size), nowUs))
        {
            Sim.Metrics.SenderQueueDrops++;
        }
        // Kept in ns so the long-run rate is exact despite µs event times.
        _nextSendNs += (long)Math.Round(size * 8_000.0 / _mbps);
        Sim.Schedule((_nextSendNs + 999) / 1000, EventKind.WorkloadTick, 0);
    }

    public override void OnInner(Endpoint at, ReadOnlySpan<byte> packet, long nowUs)
    {
        if (at != Sim.DataReceiver || !InnerPacket.TryRead(packet, out var kind, out _, out long seq, out long ts) || kind != InnerPacket.KindUdp)
        {
            return;
        }
        if (seq > _highestDelivered)
        {
            _highestDelivered = seq;
            Sim.Metrics.AddGoodput(packet.Length, nowUs - ts);
        }
    }
}

/// <summary>N backlogged NewReno flows (see <see cref="TcpFlow"/>); data one way, per-segment acks the other.</summary>
internal sealed class TcpWorkload : Workload
{
    private readonly TcpFlow[] _flows;
    private bool _started;

    public TcpWorkload(Simulation sim, int flows, Rng rng, long startJitterUs, bool hyStart)
        : base(sim)
    {
        _flows = new TcpFlow[flows];
        for (int i = 0; i < flows; i++)
        {
            // Flows after the first start at a random offset in [0, 10 ms) so they do not move in lockstep;
            // with a start jitter, every flow starts at a random offset in [0, jitter) (--start-jitter).
            long offsetUs = startJitterUs > 0 ? (long)(rng.NextDouble() * startJitterUs) : i == 0 ? 0 : (long)(rng.NextDouble() * 10_000);
            _flows[i] = new TcpFlow(sim, i, offsetUs, hyStart);
        }
    }

    public override void AfterEvent(long nowUs)
    {
        if (!_started && Sim.DataSender.IsEstablished && Sim.DataReceiver.IsEstablished)
        {
            _started = true;
            foreach (var f in _flows)
            {
                Sim.Schedule(nowUs + f.StartOffsetUs, EventKind.WorkloadTick, f.Id);
            }
        }
    }

    public override void OnTick(int target, long nowUs) => _flows[target].Start(nowUs);

    public override void OnFlowTimer(int flow, long eventUs) => _flows[flow].OnTimer(eventUs);

    public override void OnInner(Endpoint at, ReadOnlySpan<byte> packet, long nowUs)
    {
        if (!InnerPacket.TryRead(packet, out var kind, out int flow, out long seq, out long ts) || flow >= _flows.Length)
        {
            return;
        }
        if (kind == InnerPacket.KindTcpData && at == Sim.DataReceiver)
        {
            _flows[flow].OnData(seq, ts, packet.Length, nowUs);
        }
        else if (kind == InnerPacket.KindTcpAck && at == Sim.DataSender)
        {
            _flows[flow].OnAck(seq, ts, nowUs);
        }
    }
}
