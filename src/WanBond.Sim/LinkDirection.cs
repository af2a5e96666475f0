using WanBond.Core.Buffers;

namespace WanBond.Sim;

/// <summary>
/// One direction of one link: a drop-tail byte queue served either by a Mahimahi trace
/// (a byte budget per delivery opportunity, as Mahimahi does) or at a constant bit rate,
/// then random loss, then a fixed propagation delay. Packets are pooled buffers; nothing
/// is allocated per packet.
/// </summary>
internal sealed class LinkDirection
{
    private readonly EventQueue _events;
    private readonly PacketPool _pool;
    private readonly MahimahiTrace? _trace;
    private readonly double _nsPerByte;
    private readonly (long StartUs, long EndUs)[] _cuts;
    private readonly double _loss;
    private Rng _rng;

    private PacketBuffer[] _queue = new PacketBuffer[256];
    private int _head;
    private int _count;

    // Bytes of the head packet still to transmit; -1 before it starts.
    private int _headRemaining = -1;
    private bool _serviceScheduled;

    // Trace cursor: the next opportunity not yet used or skipped.
    private long _cycle;
    private int _index;

    // Constant rate: when the transmitter is free, ns.
    private long _busyUntilNs;

    public LinkDirection(int id, MahimahiTrace? trace, double rateMbps, long delayUs, double queueMs, double loss, int overheadBytes,
        (long StartUs, long EndUs)[] cuts, Rng rng, EventQueue events, PacketPool pool)
    {
        Id = id;
        _trace = trace;
        _nsPerByte = trace is null ? 8_000.0 / rateMbps : 0;
        DelayUs = delayUs;
        _loss = loss;
        OverheadBytes = overheadBytes;
        _cuts = cuts;
        _rng = rng;
        _events = events;
        _pool = pool;
        double bitsPerSecond = trace?.MeanBitsPerSecond ?? rateMbps * 1e6;
        // Never smaller than two full packets, or a short queue on a slow link could not hold one burst.
        QueueLimitBytes = Math.Max(2 * MahimahiTrace.OpportunityBytes, (long)(bitsPerSecond / 8 * queueMs / 1000));
    }

    /// <summary>Event target id: link index × 2 + (0 router→proxy, 1 proxy→router).</summary>
    public int Id { get; }

    public long DelayUs { get; }

    /// <summary>Bytes added to each packet on the wire (outer IPv4 + UDP = 28 in tunnel mode).</summary>
    public int OverheadBytes { get; }

    public long QueueLimitBytes { get; }

    public long QueuedBytes { get; private set; }

    /// <summary>Bytes the link transmitted (including packets then lost at random), on-wire size.</summary>
    public long CarriedBytes { get; private set; }

    public long CarriedPackets { get; private set; }

    /// <summary>Bytes offered to the link (accepted or dropped).</summary>
    public long OfferedBytes { get; private set; }

    public long QueueDrops { get; private set; }

    public long LossDrops { get; private set; }

    /// <summary>Capacity in [0, endUs) outside cuts, bytes.</summary>
    public double CapacityBytes(long endUs)
    {
        double total;
        if (_trace is not null)
        {
            long n = _trace.CountBetween(0, endUs);
            foreach (var (s, e) in _cuts)
            {
                n -= _trace.CountBetween(Math.Min(s, endUs), Math.Min(e, endUs));
            }
            total = (double)n * MahimahiTrace.OpportunityBytes;
        }
        else
        {
            long us = endUs;
            foreach (var (s, e) in _cuts)
            {
                us -= Math.Max(0, Math.Min(e, endUs) - Math.Min(s, endUs));
            }
            total = us * 1000.0 / _nsPerByte;
        }
        return total;
    }

    /// <summary>Takes ownership of <paramref name="packet"/>: queues it or drops it (tail drop).</summary>
    public void Enqueue(PacketBuffer packet, long nowUs)
    {
        int size = packet.Length + OverheadBytes;
        OfferedBytes += size;
        if (QueuedBytes + size > QueueLimitBytes)
        {
            QueueDrops++;
            _pool.Return(packet);
            return;
        }
        if (_count == _queue.Length)
        {
            var bigger = new PacketBuffer[_queue.Length * 2];
            for (int i = 0; i < _count; i++)
            {
                bigger[i] = _queue[(_head + i) % _queue.Length];
            }
            _queue = bigger;
            _head = 0;
        }
        _queue[(_head + _count) % _queue.Length] = packet;
        _count++;
        QueuedBytes += size;
        if (!_serviceScheduled)
        {
            ScheduleService(nowUs);
        }
    }

    /// <summary>A LinkService event: use the delivery opportunity (trace) or finish a transmission (rate).</summary>
    public void OnService(long nowUs)
    {
        _serviceScheduled = false;
        if (_trace is not null)
        {
            // All opportunities with the same timestamp form one budget; budget unused when the queue empties is lost.
            long budget = 0;
            long at = (_cycle * _trace.PeriodUs) + _trace.TimeInPeriodUs(_index);
            do
            {
                budget += MahimahiTrace.OpportunityBytes;
                Advance();
            }
            while ((_cycle * _trace.PeriodUs) + _trace.TimeInPeriodUs(_index) == at);
            while (_count > 0 && budget > 0)
            {
                if (_headRemaining < 0)
                {
                    _headRemaining = _queue[_head].Length + OverheadBytes;
                }
                long take = Math.Min(budget, _headRemaining);
                _headRemaining -= (int)take;
                budget -= take;
                if (_headRemaining == 0)
                {
                    Transmitted(nowUs);
                }
            }
        }
        else
        {
            Transmitted(nowUs);
        }
        if (_count > 0)
        {
            ScheduleService(nowUs);
        }
    }

    private void Transmitted(long nowUs)
    {
        var p = _queue[_head];
        _queue[_head] = null!;
        _head = (_head + 1) % _queue.Length;
        _count--;
        _headRemaining = -1;
        int size = p.Length + OverheadBytes;
        QueuedBytes -= size;
        CarriedBytes += size;
        CarriedPackets++;
        if (_loss > 0 && _rng.NextDouble() < _loss)
        {
            LossDrops++;
            _pool.Return(p);
            return;
        }
        _events.Push(nowUs + DelayUs, EventKind.LinkArrival, Id, p);
    }

    private void ScheduleService(long nowUs)
    {
        _serviceScheduled = true;
        if (_trace is not null)
        {
            long t = NextOpportunityAtOrAfter(nowUs);
            _events.Push(t, EventKind.LinkService, Id);
            return;
        }
        long startNs = Math.Max(nowUs * 1000, _busyUntilNs);
        foreach (var (s, e) in _cuts)
        {
            // Compared in µs: e may be long.MaxValue ("to the end"), which would overflow in ns.
            if (startNs / 1000 >= s && startNs / 1000 < e)
            {
                startNs = e == long.MaxValue ? long.MaxValue / 2 : e * 1000;
            }
        }
        long finishNs = startNs + (long)Math.Round((_queue[_head].Length + OverheadBytes) * _nsPerByte);
        _busyUntilNs = finishNs;
        _events.Push((finishNs + 999) / 1000, EventKind.LinkService, Id);
    }

    private long NextOpportunityAtOrAfter(long nowUs)
    {
        var trace = _trace!;
        long from = nowUs;
        while (true)
        {
            var (c, i) = trace.FirstAtOrAfter(from);
            if (c > _cycle || (c == _cycle && i > _index))
            {
                _cycle = c;
                _index = i;
            }
            long t = (_cycle * trace.PeriodUs) + trace.TimeInPeriodUs(_index);
            bool moved = false;
            foreach (var (s, e) in _cuts)
            {
                if (t >= s && t < e)
                {
                    from = e == long.MaxValue ? long.MaxValue / 4 : e;
                    moved = true;
                }
            }
            if (!moved)
            {
                return t;
            }
        }
    }

    private void Advance()
    {
        if (++_index == _trace!.Count)
        {
            _index = 0;
            _cycle++;
        }
    }
}
