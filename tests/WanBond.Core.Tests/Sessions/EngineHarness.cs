using WanBond.Core.Sessions;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Sessions;

/// <summary>
/// A minimal deterministic loop joining two engines over constant-rate FIFO links, for engine
/// tests that must not depend on the simulator project. Rates in bytes/s, delays in µs.
/// </summary>
internal sealed class EngineHarness
{
    private readonly PriorityQueue<Action, (long, long)> _events = new();
    private readonly long[] _rate;
    private readonly long[] _delayUs;
    private readonly long[][] _linkFreeUs;
    private readonly byte[] _buffer = new byte[2048];
    private long _seq;
    private long _timerRouter = long.MaxValue;
    private long _timerProxy = long.MaxValue;

    public EngineHarness(long[] rateBytesPerSecond, long[] delayUs, SchedulerKind scheduler = SchedulerKind.Adaptive)
        : this(rateBytesPerSecond, delayUs, options => (
            new Session(options, new NullSeal(), SessionRole.Initiator, 0x1111, 0),
            new Session(options, new NullSeal(), SessionRole.Responder, 0x2222, 0)), scheduler)
    {
    }

    /// <summary>Two engines made by <paramref name="create"/> (e.g. secured ones).</summary>
    public EngineHarness(long[] rateBytesPerSecond, long[] delayUs, Func<SessionOptions, (Session Router, Session Proxy)> create, SchedulerKind scheduler = SchedulerKind.Adaptive)
    {
        _rate = rateBytesPerSecond;
        _delayUs = delayUs;
        _linkFreeUs = [new long[rateBytesPerSecond.Length], new long[rateBytesPerSecond.Length]];
        var options = new SessionOptions { PathCount = rateBytesPerSecond.Length, Scheduler = scheduler };
        (Router, Proxy) = create(options);
    }

    /// <summary>
    /// Sees every datagram arriving at the proxy first (as the proxy daemon does): returns true when it
    /// handled it (e.g. a handshake initiation), with an optional answer to send back on the same path.
    /// </summary>
    public Func<int, byte[], (bool Handled, byte[]? Answer)>? ProxyFront { get; set; }

    /// <summary>Every datagram sent, in order: direction (true: to the proxy), path, bytes.</summary>
    public List<(bool ToProxy, int Path, byte[] Datagram)> Traffic { get; } = [];

    /// <summary>Injects a datagram as if it arrived now on <paramref name="path"/>.</summary>
    public void Inject(bool toProxy, int path, byte[] datagram)
    {
        var dest = toProxy ? Proxy : Router;
        dest.ReceiveDatagram(path, datagram, NowUs);
        Service(dest);
    }

    public Session Router { get; }
    public Session Proxy { get; }
    public long NowUs { get; private set; }
    public List<byte[]> DeliveredAtRouter { get; } = [];
    public List<byte[]> DeliveredAtProxy { get; } = [];

    /// <summary>Set a link's rate to 0 to cut it (packets queue, nothing is delivered).</summary>
    public void SetRate(int link, long bytesPerSecond) => _rate[link] = bytesPerSecond;

    /// <summary>
    /// A gap in a link's service, as mobile links have: packets sent on <paramref name="link"/> toward
    /// <paramref name="toProxy"/>'s side from now on queue behind it for <paramref name="durationUs"/> more
    /// (nothing is lost, order is kept).
    /// </summary>
    public void Pause(bool toProxy, int link, long durationUs)
    {
        var free = _linkFreeUs[toProxy ? 0 : 1];
        free[link] = Math.Max(free[link], NowUs) + durationUs;
    }

    public void At(long timeUs, Action action) => _events.Enqueue(action, (timeUs, _seq++));

    public void Kick(Session s) => Service(s);

    public void RunUntil(long endUs)
    {
        Service(Router);
        Service(Proxy);
        while (_events.TryPeek(out _, out var key) && key.Item1 <= endUs)
        {
            var action = _events.Dequeue();
            NowUs = key.Item1;
            action();
        }
        NowUs = endUs;
    }

    private void Service(Session s)
    {
        var toProxy = s == Router;
        while (s.TryPollDatagram(NowUs, _buffer, out var len, out var path))
        {
            Transmit(toProxy, path, _buffer.AsSpan(0, len).ToArray());
        }
        while (s.TryPollInner(_buffer, out var len))
        {
            (toProxy ? DeliveredAtRouter : DeliveredAtProxy).Add(_buffer.AsSpan(0, len).ToArray());
        }
        var t = s.NextTimeoutUs;
        ref var armed = ref toProxy ? ref _timerRouter : ref _timerProxy;
        if (t != long.MaxValue && t != armed)
        {
            armed = t;
            var at = Math.Max(t, NowUs);
            At(at, () =>
            {
                if ((toProxy ? _timerRouter : _timerProxy) != t)
                {
                    return; // re-armed since
                }
                if (toProxy) { _timerRouter = long.MaxValue; } else { _timerProxy = long.MaxValue; }
                s.HandleTimeout(NowUs);
                Service(s);
            });
        }
    }

    /// <summary>Datagrams for which this returns true (direction to the proxy, path, bytes) are lost on their link.</summary>
    public Func<bool, int, byte[], bool>? Lose { get; set; }

    private void Transmit(bool toProxy, int path, byte[] datagram)
    {
        Traffic.Add((toProxy, path, datagram));
        if (Lose?.Invoke(toProxy, path, datagram) == true)
        {
            return;
        }
        var dir = toProxy ? 0 : 1;
        var free = _linkFreeUs[dir];
        if (_rate[path] <= 0)
        {
            return; // cut: lost
        }
        var start = Math.Max(NowUs, free[path]);
        var done = start + (datagram.Length + 28) * 1_000_000L / _rate[path];
        free[path] = done;
        var dest = toProxy ? Proxy : Router;
        At(done + _delayUs[path], () =>
        {
            if (_rate[path] <= 0)
            {
                return;
            }
            if (toProxy && ProxyFront is { } front)
            {
                var (handled, answer) = front(path, datagram);
                if (answer is not null)
                {
                    Transmit(false, path, answer);
                }
                if (handled)
                {
                    Service(dest);
                    return;
                }
            }
            dest.ReceiveDatagram(path, datagram, NowUs);
            Service(dest);
        });
    }

    /// <summary>A minimal IPv4/UDP packet of <paramref name="size"/> bytes whose payload starts with <paramref name="id"/>.</summary>
    public static byte[] Packet(int id, int size = 1200)
    {
        var p = new byte[size];
        p[0] = 0x45;
        p[2] = (byte)(size >> 8);
        p[3] = (byte)size;
        p[9] = 17;
        p[12] = 10; p[15] = 1;
        p[16] = 10; p[19] = 2;
        p[20] = 0x30; p[21] = 0x39; p[22] = 0x00; p[23] = 0x35;
        BitConverter.TryWriteBytes(p.AsSpan(28), id);
        return p;
    }

    public static int IdOf(byte[] packet) => BitConverter.ToInt32(packet, 28);
}
