using WanBond.Sim;

namespace WanBond.Testbed.Emulation;

/// <summary>Where <see cref="LinkModel"/> hands packets when they leave the queue or the link.</summary>
internal interface ILinkSink
{
    /// <summary>The packet in <paramref name="slot"/> reached the far end of the link at <paramref name="dueUs"/>.</summary>
    void Deliver(int slot, int size, long dueUs);

    /// <summary>The packet in <paramref name="slot"/> was lost at random after using capacity; free the slot.</summary>
    void Lost(int slot);
}

/// <summary>
/// One direction of an emulated link, with the simulator's service model (docs/simulator.md, Links):
/// a drop-tail byte queue served either by Mahimahi delivery opportunities (opportunities with the
/// same timestamp form one byte budget; a packet may span several; budget unused when the queue is
/// empty is lost; opportunities that pass while the queue is empty are skipped) or by a constant-rate
/// serialiser kept in ns, then random loss, then a fixed propagation delay. Sans-IO: it holds slot numbers of a buffer arena the caller owns, and
/// time is a parameter (µs from the trace's start), so the model is tested without sockets.
/// Departure times are computed from the scheduled opportunity time, never from when the caller
/// got round to it, so scheduling lateness does not accumulate.
/// </summary>
internal sealed class LinkModel
{
    private readonly MahimahiTrace? _trace;
    private readonly double _nsPerByte;
    private long _busyUntilNs;
    private long _headFinishNs;
    private readonly double _loss;
    private Rng _rng;

    private readonly int[] _qSlot;
    private readonly int[] _qSize;
    private int _qHead;
    private int _qCount;
    private int _headRemaining = -1;

    private readonly int[] _dSlot;
    private readonly int[] _dSize;
    private readonly long[] _dDue;
    private int _dHead;
    private int _dCount;

    // The next opportunity not yet used or skipped.
    private long _cycle;
    private int _index;

    public LinkModel(LinkCapacity capacity, long delayUs, long queueLimitBytes, double loss, Rng rng, int capacityPackets)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(delayUs);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityPackets, 1);
        Capacity = capacity;
        _trace = capacity.Trace;
        _nsPerByte = _trace is null ? 8e9 / capacity.MeanBitsPerSecond : 0;
        DelayUs = delayUs;
        QueueLimitBytes = queueLimitBytes;
        _loss = loss;
        _rng = rng;
        _qSlot = new int[capacityPackets];
        _qSize = new int[capacityPackets];
        _dSlot = new int[capacityPackets];
        _dSize = new int[capacityPackets];
        _dDue = new long[capacityPackets];
    }

    public LinkModel(MahimahiTrace trace, long delayUs, long queueLimitBytes, double loss, Rng rng, int capacityPackets)
        : this(LinkCapacity.FromTrace(trace), delayUs, queueLimitBytes, loss, rng, capacityPackets)
    {
    }

    /// <summary>A queue limit given in ms, in bytes at the mean rate, never below two full packets (as the simulator).</summary>
    public static long QueueBytesForMs(LinkCapacity capacity, double queueMs) =>
        Math.Max(2 * MahimahiTrace.OpportunityBytes, (long)(capacity.MeanBitsPerSecond / 8 * queueMs / 1000));

    public static long QueueBytesForMs(MahimahiTrace trace, double queueMs) => QueueBytesForMs(LinkCapacity.FromTrace(trace), queueMs);

    public long DelayUs { get; }

    public long QueueLimitBytes { get; }

    public LinkCapacity Capacity { get; }

    // Counters: written by the owning thread only, read by a reporter with Volatile.Read.
    public long QueuedBytes;
    public long OfferedPackets;
    public long QueueDrops;
    public long LossDrops;
    public long CarriedBytes;
    public long CarriedPackets;
    public long DeliveredBytes;
    public long DeliveredPackets;

    public int QueuedPackets => _qCount;

    public int InFlightPackets => _dCount;

    /// <summary>When something next happens: the next opportunity if a packet waits, or the next departure from the delay line.</summary>
    public long NextEventUs
    {
        get
        {
            long t = _dCount > 0 ? _dDue[_dHead] : long.MaxValue;
            return _qCount > 0 ? Math.Min(t, ServiceUs) : t;
        }
    }

    /// <summary>When the queue is next served: the next opportunity, or when the head's last bit is sent (µs, rounded up).</summary>
    private long ServiceUs => _trace is null ? (_headFinishNs + 999) / 1000 : OpportunityUs;

    private long OpportunityUs => (_cycle * _trace!.PeriodUs) + _trace.TimeInPeriodUs(_index);

    /// <summary>Offers a packet at <paramref name="nowUs"/>. False: tail drop (the caller frees the slot).</summary>
    public bool TryEnqueue(int slot, int size, long nowUs)
    {
        OfferedPackets++;
        if (QueuedBytes + size > QueueLimitBytes || _qCount + _dCount >= _qSlot.Length)
        {
            QueueDrops++;
            return false;
        }
        if (_qCount == 0 && _trace is null)
        {
            _headFinishNs = Math.Max(nowUs * 1000, _busyUntilNs) + (long)Math.Round(size * _nsPerByte);
        }
        else if (_qCount == 0)
        {
            // Opportunities that passed while the queue was empty are gone.
            var (c, i) = _trace!.FirstAtOrAfter(nowUs);
            if (c > _cycle || (c == _cycle && i > _index))
            {
                _cycle = c;
                _index = i;
            }
        }
        int tail = (_qHead + _qCount) % _qSlot.Length;
        _qSlot[tail] = slot;
        _qSize[tail] = size;
        _qCount++;
        QueuedBytes += size;
        return true;
    }

    /// <summary>Runs every event due at or before <paramref name="nowUs"/>, in time order; returns how many.</summary>
    public int RunDue(long nowUs, ILinkSink sink, LatenessHistogram? lateness = null)
    {
        int events = 0;
        while (true)
        {
            long tDeliver = _dCount > 0 ? _dDue[_dHead] : long.MaxValue;
            long tServe = _qCount > 0 ? ServiceUs : long.MaxValue;
            if (Math.Min(tDeliver, tServe) > nowUs)
            {
                return events;
            }
            events++;
            if (tDeliver <= tServe)
            {
                lateness?.Record(nowUs - tDeliver);
                int slot = _dSlot[_dHead];
                int size = _dSize[_dHead];
                _dHead = (_dHead + 1) % _dSlot.Length;
                _dCount--;
                DeliveredBytes += size;
                DeliveredPackets++;
                sink.Deliver(slot, size, tDeliver);
            }
            else
            {
                lateness?.Record(nowUs - tServe);
                if (_trace is null)
                {
                    ServeAtRate(tServe, sink);
                }
                else
                {
                    Serve(tServe, sink);
                }
            }
        }
    }

    private void ServeAtRate(long atUs, ILinkSink sink)
    {
        _busyUntilNs = _headFinishNs;
        _headRemaining = 0;
        Depart(atUs, sink);
        if (_qCount > 0)
        {
            _headFinishNs = _busyUntilNs + (long)Math.Round(_qSize[_qHead] * _nsPerByte);
        }
    }

    private void Serve(long atUs, ILinkSink sink)
    {
        var trace = _trace!;
        long budget = 0;
        do
        {
            budget += MahimahiTrace.OpportunityBytes;
            if (++_index == trace.Count)
            {
                _index = 0;
                _cycle++;
            }
        }
        while (OpportunityUs == atUs);

        while (_qCount > 0 && budget > 0)
        {
            if (_headRemaining < 0)
            {
                _headRemaining = _qSize[_qHead];
            }
            long take = Math.Min(budget, _headRemaining);
            _headRemaining -= (int)take;
            budget -= take;
            if (_headRemaining == 0)
            {
                Depart(atUs, sink);
            }
        }
        if (_qCount == 0)
        {
            _headRemaining = -1;
        }
    }

    /// <summary>The head packet's last byte is sent at <paramref name="atUs"/>: random loss, else into the delay line.</summary>
    private void Depart(long atUs, ILinkSink sink)
    {
        _headRemaining = -1;
        int slot = _qSlot[_qHead];
        int size = _qSize[_qHead];
        _qHead = (_qHead + 1) % _qSlot.Length;
        _qCount--;
        QueuedBytes -= size;
        CarriedBytes += size;
        CarriedPackets++;
        if (_loss > 0 && _rng.NextDouble() < _loss)
        {
            LossDrops++;
            sink.Lost(slot);
            return;
        }
        int tail = (_dHead + _dCount) % _dSlot.Length;
        _dSlot[tail] = slot;
        _dSize[tail] = size;
        _dDue[tail] = atUs + DelayUs;
        _dCount++;
    }
}
