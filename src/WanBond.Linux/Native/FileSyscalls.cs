using System.Runtime.InteropServices;

namespace WanBond.Linux.Native;

/// <summary>open, close, read, write, fcntl: plain file-descriptor calls.</summary>
public static unsafe partial class FileSyscalls
{
    public const int O_RDWR = 0x2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenRaw(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadRaw(FileDescriptor fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteRaw(FileDescriptor fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(FileDescriptor fd, int cmd, int arg);

    public static FileDescriptor Open(string path, int flags)
    {
        var fd = OpenRaw(path, flags | O_CLOEXEC);
        if (fd < 0)
        {
            throw new SyscallException($"open {path}", Errno.Last);
        }
        return new FileDescriptor(fd);
    }

    /// <summary>Bytes read, or -errno (never throws: the caller decides what EAGAIN means).</summary>
    public static int Read(FileDescriptor fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = ReadRaw(fd, p, buffer.Length);
            return n < 0 ? -Errno.Last : (int)n;
        }
    }

    /// <summary>Bytes written, or -errno.</summary>
    public static int Write(FileDescriptor fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = WriteRaw(fd, p, buffer.Length);
            return n < 0 ? -Errno.Last : (int)n;
        }
    }

    public static void SetNonBlocking(FileDescriptor fd)
    {
        var flags = Fcntl(fd, F_GETFL, 0);
        if (flags < 0 || Fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        {
            throw new SyscallException("fcntl O_NONBLOCK", Errno.Last);
        }
    }
}
