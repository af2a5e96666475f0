using WanBond.Core.Buffers;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>One received packet or datagram on its way from a receive loop to the engine thread. Pooled.</summary>
public sealed class InboundItem
{
    public byte[] Data { get; } = new byte[PacketBuffer.Capacity];

    public int Length { get; set; }

    /// <summary>Where it came from: a link index (router), <see cref="Inbox.FromTun"/>, or <see cref="Inbox.FromSocket"/> (proxy).</summary>
    public int Source { get; set; }

    /// <summary>The sender's address (datagrams only). A field: the receive call writes it in place.</summary>
#pragma warning disable CA1051
    public InetSocketAddress From;

    /// <summary>The local address it arrived at (proxy socket only).</summary>
    public PacketInfo To;
#pragma warning restore CA1051

    public ReadOnlySpan<byte> Span => Data.AsSpan(0, Length);
}

/// <summary>
/// What the engine thread reads: a fixed pool of buffers and a bounded queue (no allocation per packet),
/// the attached <see cref="ReceiveLoop"/>s it drains itself, and an eventfd that other threads signal
/// (link events, stop). <see cref="Wait"/> sleeps in one ppoll on the eventfd and every attached
/// descriptor. When the engine falls behind, the pool runs dry and reads drop, like a full NIC ring.
/// </summary>
public sealed class Inbox : IDisposable
{
    public const int FromTun = -1;
    public const int FromSocket = -2;

    private readonly object _lock = new();
    private readonly InboundItem[] _free;
    private readonly InboundItem[] _ring;
    private readonly FileDescriptor _eventFd;
    private int _freeCount;
    private int _head;
    private int _count;
    private int _sleeping;
    private long _dropped;
    private volatile ReceiveLoop[] _receivers = [];
    private readonly FileDescriptor[] _waitSet = new FileDescriptor[64];
    private readonly ReceiveLoop?[] _waitOwners = new ReceiveLoop?[64];
    private readonly bool[] _ready = new bool[64];

    public Inbox(int capacity = 4096)
    {
        _free = new InboundItem[capacity];
        _ring = new InboundItem[capacity];
        for (var i = 0; i < capacity; i++)
        {
            _free[i] = new InboundItem();
        }
        _freeCount = capacity;
        _eventFd = PollSyscalls.CreateEventFd();
    }

    /// <summary>Packets dropped because the engine was behind (no free buffer).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Adds a reader the engine thread drains (<see cref="ReceiveLoop.Start"/>).</summary>
    public void Attach(ReceiveLoop receiver)
    {
        lock (_lock)
        {
            if (Array.IndexOf(_receivers, receiver) < 0)
            {
                _receivers = [.. _receivers, receiver];
            }
        }
        Wake();
    }

    public void Detach(ReceiveLoop receiver)
    {
        lock (_lock)
        {
            _receivers = [.. _receivers.Where(r => r != receiver)];
        }
    }

    /// <summary>
    /// Engine thread: reads up to <paramref name="budget"/> packets from each attached descriptor into the
    /// queue. True when some descriptor may have more (the caller should come back without sleeping).
    /// </summary>
    public bool ReceiveAll(int budget, long nowUs)
    {
        var more = false;
        foreach (var r in _receivers)
        {
            r.Drain(budget, nowUs, out var drained);
            more |= !drained;
        }
        return more;
    }

    public InboundItem? Rent()
    {
        lock (_lock)
        {
            if (_freeCount == 0)
            {
                _dropped++;
                return null;
            }
            return _free[--_freeCount];
        }
    }

    public void Return(InboundItem item)
    {
        lock (_lock)
        {
            _free[_freeCount++] = item;
        }
    }

    /// <summary>Queues an item for the engine and wakes it if it sleeps.</summary>
    public void Post(InboundItem item)
    {
        lock (_lock)
        {
            _ring[(_head + _count) % _ring.Length] = item;
            _count++;
        }
        WakeIfSleeping();
    }

    /// <summary>Wakes the engine thread (link events, status requests, stop).</summary>
    public void Wake()
    {
        Interlocked.Exchange(ref _sleeping, 0);
        PollSyscalls.Signal(_eventFd);
    }

    /// <summary>Moves up to <paramref name="batch"/>.Length queued items into <paramref name="batch"/>.</summary>
    public int Take(InboundItem[] batch)
    {
        lock (_lock)
        {
            var n = Math.Min(batch.Length, _count);
            for (var i = 0; i < n; i++)
            {
                batch[i] = _ring[_head];
                _ring[_head] = null!;
                _head = (_head + 1) % _ring.Length;
            }
            _count -= n;
            return n;
        }
    }

    /// <summary>
    /// Sleeps (ppoll) until an attached descriptor is readable, and marks the ones that are for the next
    /// <see cref="ReceiveAll"/>; with <paramref name="timeoutUs"/> 0 it only looks. Wakes early when
    /// an item is posted from another thread,
    /// <see cref="Wake"/> is called, or <paramref name="timeoutUs"/> passes.
    /// </summary>
    public void Wait(long timeoutUs)
    {
        var now = MonotonicClock.NowUs;
        var n = 0;
        _waitSet[n++] = _eventFd;
        foreach (var r in _receivers)
        {
            var fd = r.Current(now);
            if (fd is not null && n < _waitSet.Length)
            {
                _waitOwners[n] = r;
                _waitSet[n++] = fd;
            }
            else if (fd is null && r.BackoffUntilUs > now)
            {
                timeoutUs = Math.Min(timeoutUs, r.BackoffUntilUs - now);
            }
        }
        var ready = _ready.AsSpan(0, n);
        ready.Clear();
        Interlocked.Exchange(ref _sleeping, timeoutUs > 0 ? 1 : 0);
        if (Volatile.Read(ref _count) == 0)
        {
            try
            {
                PollSyscalls.WaitAnyReadable(_waitSet.AsSpan(0, n), timeoutUs, ready);
            }
            catch (ObjectDisposedException)
            {
                // A descriptor was closed (link socket replaced) while we gathered them: the next round sees the new one.
                ready.Fill(true);
            }
        }
        else
        {
            ready.Fill(true);
        }
        Interlocked.Exchange(ref _sleeping, 0);
        // Only descriptors that have something are read next round: no read that would just say EAGAIN.
        for (var i = 1; i < n; i++)
        {
            if (ready[i])
            {
                _waitOwners[i]!.Ready = true;
            }
        }
        Array.Clear(_waitSet, 1, n - 1);
        Array.Clear(_waitOwners, 1, n - 1);
        if (ready[0])
        {
            PollSyscalls.Drain(_eventFd);
        }
    }

    private void WakeIfSleeping()
    {
        if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1)
        {
            PollSyscalls.Signal(_eventFd);
        }
    }

    public void Dispose() => _eventFd.Dispose();
}
