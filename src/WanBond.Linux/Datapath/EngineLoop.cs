using Microsoft.Extensions.Logging;
using WanBond.Linux.Control;

namespace WanBond.Linux.Datapath;

/// <summary>
/// The single thread that owns the engine (Session is not thread-safe) and does all the I/O: it reads
/// every attached descriptor (TUN, sockets) itself, feeds the engine, runs its timers, writes what it
/// produces, and sleeps in one ppoll over those descriptors until one is readable or the engine's next
/// timer (microsecond timeouts, so pacing is not rounded to milliseconds). No thread hand-off per packet.
/// </summary>
public abstract class EngineLoop : IDisposable
{
    private const int BatchSize = 256;

    /// <summary>Packets read per descriptor per round: enough to amortise, small enough to keep rounds short and fair.</summary>
    private const int ReadBudget = 64;
    private const long StatusIntervalUs = 1_000_000;
    private const long MaxSleepUs = 250_000;

    private readonly Thread _thread;
    private volatile bool _stopping;
    private volatile StatusReport? _status;
    private long _lastStatusUs;

    protected EngineLoop(string name, ILogger log)
    {
        Log = log;
        Inbox = new Inbox();
        StartedUs = MonotonicClock.NowUs;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    protected ILogger Log { get; }

    protected Inbox Inbox { get; }

    protected long StartedUs { get; }

    /// <summary>Set when the engine thread died; the daemon stops with an error.</summary>
    public Exception? Fault { get; private set; }

    public event Action<Exception>? Faulted;

    /// <summary>The last status snapshot (refreshed every second by the engine thread).</summary>
    public StatusReport? Status => _status;

    public virtual void Start() => _thread.Start();

    private void Run()
    {
        var batch = new InboundItem[BatchSize];
        try
        {
            _lastStatusUs = MonotonicClock.NowUs;
            while (!_stopping)
            {
                var now = MonotonicClock.NowUs;
                var more = Inbox.ReceiveAll(ReadBudget, now);
                var n = Inbox.Take(batch);
                for (var i = 0; i < n; i++)
                {
                    Process(batch[i], now);
                    Inbox.Return(batch[i]);
                    batch[i] = null!;
                }
                WriteBatch.Open();
                try
                {
                    Tick(now);
                    PaceWithinBatch(now);
                }
                finally
                {
                    WriteBatch.Close();
                }
                if (now - _lastStatusUs >= StatusIntervalUs)
                {
                    _status = BuildStatus(now, (now - _lastStatusUs) / 1e6);
                    _lastStatusUs = now;
                }
                if (more || n == BatchSize)
                {
                    continue;
                }
                var next = NextTimeoutUs;
                now = MonotonicClock.NowUs;
                var wait = Math.Min(next - now, MaxSleepUs);
                wait = Math.Min(wait, _lastStatusUs + StatusIntervalUs - now);
                if (wait > 0)
                {
                    Inbox.Wait(wait);
                }
                else
                {
                    // The engine asked to run again now: only look (ppoll, no timeout) for what became readable,
                    // or, if it had nothing to do this round, yield briefly rather than spin hot.
                    Inbox.Wait(n == 0 ? 20 : 0);
                }
            }
        }
        catch (Exception e)
        {
            Fault = e;
            Log.LogCritical(e, "engine thread failed");
            Faulted?.Invoke(e);
        }
    }

    /// <summary>
    /// The engine paces each path by releasing a couple of datagrams per interval; at Gbit/s an interval is
    /// a few microseconds, far less than a sleep and wake-up cost. So while the next release is due within
    /// <see cref="SpinUs"/>, wait for it on the CPU and run the engine again inside the same write batch:
    /// the datagrams join one GSO run instead of one sendmsg and one ppoll sleep each. Bounded by
    /// <see cref="MaxBatchUs"/> per round, and stops as soon as a round releases nothing.
    /// </summary>
    private void PaceWithinBatch(long startUs)
    {
        var datagrams = WriteBatch.Datagrams;
        if (datagrams is null)
        {
            return;
        }
        var queued = datagrams.Queued;
        while (true)
        {
            var now = MonotonicClock.NowUs;
            var next = NextTimeoutUs;
            if (next - now > SpinUs || now - startUs >= MaxBatchUs)
            {
                return;
            }
            while (now < next)
            {
                Thread.SpinWait(20);
                now = MonotonicClock.NowUs;
            }
            Tick(now);
            if (datagrams.Queued == queued)
            {
                return;
            }
            queued = datagrams.Queued;
        }
    }

    private const long SpinUs = 20;
    private const long MaxBatchUs = 250;

    /// <summary>One packet from a receive loop.</summary>
    protected abstract void Process(InboundItem item, long nowUs);

    /// <summary>Link events, due timers, then everything the engine has to send or deliver.</summary>
    protected abstract void Tick(long nowUs);

    protected abstract long NextTimeoutUs { get; }

    protected abstract StatusReport BuildStatus(long nowUs, double intervalS);

    /// <summary>Wakes the engine thread from another thread (link change, stop).</summary>
    protected void Wake() => Inbox.Wake();

    public virtual void Stop()
    {
        _stopping = true;
        Inbox.Wake();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }
    }

    public virtual void Dispose()
    {
        Stop();
        Inbox.Dispose();
        GC.SuppressFinalize(this);
    }
}
