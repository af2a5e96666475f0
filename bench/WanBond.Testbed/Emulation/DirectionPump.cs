using WanBond.Testbed.Native;

namespace WanBond.Testbed.Emulation;

/// <summary>
/// Moves one direction of a link on its own thread: frames read from the ingress interface enter
/// the <see cref="LinkModel"/>; frames it delivers leave through the egress interface. The thread
/// sleeps in ppoll until the next trace opportunity or departure (or a frame arriving), then spins
/// for the last <c>spinUs</c> if asked to, and records how late each event ran.
/// Frames live in a fixed arena of slots, so nothing is allocated per packet.
/// </summary>
internal sealed class DirectionPump : ILinkSink
{
    public const int SlotBytes = 2048;
    private const int EthernetHeaderBytes = 14;
    private const long MaxSleepUs = 50_000;

    private readonly PacketSocket _ingress;
    private readonly PacketSocket _egress;
    private readonly long _t0Us;
    private readonly long _spinUs;
    private readonly byte[] _arena;
    private readonly int[] _frameLength;
    private readonly int[] _free;
    private int _freeCount;
    private readonly byte[] _scratch = new byte[SlotBytes];
    private readonly Thread _thread;
    private volatile bool _stop;
    private readonly bool _realtime;

    /// <summary>Whether the thread got SCHED_FIFO.</summary>
    public bool Realtime { get; private set; }

    public DirectionPump(string name, PacketSocket ingress, PacketSocket egress, LinkModel model, long t0Us, long spinUs, int slots, bool realtime)
    {
        _realtime = realtime;
        Name = name;
        _ingress = ingress;
        _egress = egress;
        Model = model;
        _t0Us = t0Us;
        _spinUs = spinUs;
        // Uninitialised: pages are only touched as slots are used, and the free list reuses the most recent slot first.
        _arena = GC.AllocateUninitializedArray<byte>(slots * SlotBytes);
        _frameLength = new int[slots];
        _free = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            _free[i] = slots - 1 - i;
        }
        _freeCount = slots;
        _thread = new Thread(Run) { IsBackground = true, Name = $"emulate-{name}", Priority = ThreadPriority.Highest };
    }

    public string Name { get; }

    public LinkModel Model { get; }

    public LatenessHistogram Lateness { get; } = new();

    // Counters: written by the pump thread, read with Volatile.Read.
    public long Oversize;
    public long NoBuffer;
    public long ReceiveErrors;
    public long SendErrors;

    /// <summary>Set if the thread died; the emulator then exits non-zero.</summary>
    public Exception? Failure { get; private set; }

    public void Start() => _thread.Start();

    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    private long Now() => Timing.NowUs() - _t0Us;

    private void Run()
    {
        try
        {
            Timing.MinimizeTimerSlack();
            Realtime = _realtime && Timing.TryRealtime(50);
            while (!_stop)
            {
                Model.RunDue(Now(), this, Lateness);
                Drain(Now());
                long next = Model.NextEventUs;
                long wait = next == long.MaxValue ? MaxSleepUs : next - Now();
                if (wait <= 0)
                {
                    continue;
                }
                if (wait > _spinUs)
                {
                    Timing.WaitReadable(_ingress.Handle, Math.Min(wait - _spinUs, MaxSleepUs));
                }
                // else: go round again at once (each round polls the socket), i.e. spin until due.
            }
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    private void Drain(long nowUs)
    {
        for (int budget = 0; budget < 512; budget++)
        {
            if (_freeCount == 0)
            {
                int n0 = _ingress.TryReceive(_scratch);
                if (n0 <= 0)
                {
                    return;
                }
                NoBuffer++;
                continue;
            }
            int slot = _free[--_freeCount];
            int n = _ingress.TryReceive(_arena.AsSpan(slot * SlotBytes, SlotBytes));
            if (n <= 0)
            {
                _free[_freeCount++] = slot;
                if (n < 0)
                {
                    ReceiveErrors++;
                }
                return;
            }
            if (n > SlotBytes)
            {
                // A GSO/GRO super-frame: offloads are on where they must be off (see docs/testbed.md).
                Oversize++;
                _free[_freeCount++] = slot;
                continue;
            }
            _frameLength[slot] = n;
            if (!Model.TryEnqueue(slot, Math.Max(1, n - EthernetHeaderBytes), nowUs))
            {
                _free[_freeCount++] = slot;
            }
        }
    }

    public void Deliver(int slot, int size, long dueUs)
    {
        if (_egress.Send(_arena.AsSpan(slot * SlotBytes, _frameLength[slot])) != 0)
        {
            SendErrors++;
        }
        _free[_freeCount++] = slot;
    }

    public void Lost(int slot) => _free[_freeCount++] = slot;
}
