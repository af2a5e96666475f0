using System.Runtime.InteropServices;

namespace WanBond.Linux.Native;

/// <summary>poll/ppoll and eventfd: waiting on descriptors with a precise timeout, and waking a waiter.</summary>
public static unsafe partial class PollSyscalls
{
    public const short POLLIN = 0x1;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    private const int EFD_CLOEXEC = 0x80000;
    private const int EFD_NONBLOCK = 0x800;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    private static partial int PpollRaw(PollFd* fds, nuint count, Timespec* timeout, void* sigmask);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFdRaw(uint initial, int flags);

    /// <summary>
    /// Waits until <paramref name="fd"/> is readable or <paramref name="timeoutUs"/> passes (negative: forever).
    /// Returns true when readable (or in error, so the caller's read reports it).
    /// </summary>
    public static bool WaitReadable(FileDescriptor fd, long timeoutUs)
    {
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            var pfd = new PollFd { Fd = (int)fd.DangerousGetHandle(), Events = POLLIN };
            var ts = new Timespec { Seconds = timeoutUs / 1_000_000, Nanoseconds = timeoutUs % 1_000_000 * 1000 };
            var n = PpollRaw(&pfd, 1, timeoutUs < 0 ? null : &ts, null);
            return n > 0;
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Waits until any of <paramref name="fds"/> is readable (or in error) or <paramref name="timeoutUs"/> passes
    /// (negative: forever). Returns how many are ready, 0 on timeout, or -errno (EINTR included).
    /// </summary>
    public static int WaitAnyReadable(ReadOnlySpan<FileDescriptor> fds, long timeoutUs) => WaitAnyReadable(fds, timeoutUs, default);

    /// <summary>As above; <paramref name="ready"/> (when not empty, one per descriptor) tells which are readable or in error.</summary>
    public static int WaitAnyReadable(ReadOnlySpan<FileDescriptor> fds, long timeoutUs, Span<bool> ready)
    {
        const int Max = 64;
        if (fds.Length > Max)
        {
            throw new ArgumentOutOfRangeException(nameof(fds), $"at most {Max} descriptors");
        }
        var pfds = stackalloc PollFd[Max];
        var added = stackalloc bool[Max];
        var n = 0;
        try
        {
            for (; n < fds.Length; n++)
            {
                added[n] = false;
                fds[n].DangerousAddRef(ref added[n]);
                pfds[n] = new PollFd { Fd = (int)fds[n].DangerousGetHandle(), Events = POLLIN };
            }
            var ts = new Timespec { Seconds = timeoutUs / 1_000_000, Nanoseconds = timeoutUs % 1_000_000 * 1000 };
            var r = PpollRaw(pfds, (nuint)fds.Length, timeoutUs < 0 ? null : &ts, null);
            if (r < 0)
            {
                return -Errno.Last;
            }
            for (var i = 0; i < ready.Length && i < fds.Length; i++)
            {
                ready[i] = pfds[i].Revents != 0;
            }
            return r;
        }
        finally
        {
            for (var i = 0; i < n; i++)
            {
                if (added[i])
                {
                    fds[i].DangerousRelease();
                }
            }
        }
    }

    public static FileDescriptor CreateEventFd()
    {
        var fd = EventFdRaw(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
        {
            throw new SyscallException("eventfd", Errno.Last);
        }
        return new FileDescriptor(fd);
    }

    /// <summary>Adds one to the eventfd counter: wakes a <see cref="WaitReadable"/> on it.</summary>
    public static void Signal(FileDescriptor eventFd)
    {
        ulong one = 1;
        FileSyscalls.Write(eventFd, new ReadOnlySpan<byte>(&one, 8));
    }

    /// <summary>Resets the eventfd counter after a wake-up.</summary>
    public static void Drain(FileDescriptor eventFd)
    {
        ulong value;
        FileSyscalls.Read(eventFd, new Span<byte>(&value, 8));
    }
}
