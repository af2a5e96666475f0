using System.Diagnostics;
using System.Runtime.InteropServices;

namespace WanBond.Testbed.Native;

/// <summary>Waiting precisely: ppoll with a nanosecond timeout, and a thread's timer slack.</summary>
internal static partial class Timing
{
    private const int PrSetTimerSlack = 29;
    private const short PollIn = 1;

    /// <summary>Monotonic µs (Stopwatch is CLOCK_MONOTONIC on Linux).</summary>
    public static long NowUs() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));

    /// <summary>
    /// Lets the kernel fire this thread's timers on time: the default 50 µs slack would let it
    /// batch wake-ups and add up to that much error to every departure.
    /// </summary>
    public static void MinimizeTimerSlack() => _ = Prctl(PrSetTimerSlack, 1, 0, 0, 0);

    /// <summary>
    /// Puts the calling thread in SCHED_FIFO at <paramref name="priority"/> so a busy CPU (iperf3,
    /// the daemons, the other directions all share two cores) cannot delay a departure by a whole
    /// scheduler tick. The pump sleeps between events, so it never holds the CPU for long.
    /// False when not permitted (not root); the emulator then runs at normal priority.
    /// </summary>
    public static unsafe bool TryRealtime(int priority)
    {
        int p = priority;
        return SchedSetScheduler(0, SchedFifo, &p) == 0;
    }

    private const int SchedFifo = 1;

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static unsafe partial int SchedSetScheduler(int pid, int policy, int* param);

    /// <summary>Waits until <paramref name="fd"/> is readable or <paramref name="timeoutUs"/> passes. True when readable.</summary>
    public static unsafe bool WaitReadable(FileDescriptor fd, long timeoutUs)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            PollFd p = new() { Fd = fd.Value, Events = PollIn };
            TimeSpec ts = new() { Sec = timeoutUs / 1_000_000, Nsec = timeoutUs % 1_000_000 * 1000 };
            int r = PPoll(&p, 1, &ts, null);
            return r > 0 && (p.REvents & PollIn) != 0;
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    private static unsafe partial int PPoll(PollFd* fds, nuint nfds, TimeSpec* timeout, void* sigmask);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
}
