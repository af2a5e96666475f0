using System.Runtime.InteropServices;

namespace WanBond.Testbed.Native;

/// <summary>A Linux file descriptor, closed exactly once.</summary>
internal sealed partial class FileDescriptor : SafeHandle
{
    public FileDescriptor()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    public FileDescriptor(int fd)
        : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    public int Value => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => Close(Value) == 0;

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

/// <summary>An OS call failed; carries errno.</summary>
internal sealed class NativeException : Exception
{
    public NativeException()
    {
    }

    public NativeException(string message)
        : base(message)
    {
    }

    public NativeException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public NativeException(string call, int errno)
        : base($"{call}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})") => Errno = errno;

    public int Errno { get; }

    public static NativeException Last(string call) => new(call, Marshal.GetLastPInvokeError());
}
