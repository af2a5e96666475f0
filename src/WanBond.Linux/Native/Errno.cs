using System.Runtime.InteropServices;

namespace WanBond.Linux.Native;

/// <summary>errno values the datapath reacts to, and the text of any errno for error messages.</summary>
public static partial class Errno
{
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOBUFS = 105;
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int EHOSTUNREACH = 113;
    public const int ECONNREFUSED = 111;
    public const int EADDRNOTAVAIL = 99;
    public const int EMSGSIZE = 90;

    /// <summary>The errno of the last failed P/Invoke on this thread.</summary>
    public static int Last => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}

/// <summary>A failed system call, named, with its errno.</summary>
public sealed class SyscallException : Exception
{
    public SyscallException(string call, int errno)
        : base($"{call} failed: {Errno.Describe(errno)}")
    {
        Call = call;
        ErrorNumber = errno;
    }

    public SyscallException()
    {
        Call = "";
    }

    public SyscallException(string message)
        : base(message)
    {
        Call = "";
    }

    public SyscallException(string message, Exception innerException)
        : base(message, innerException)
    {
        Call = "";
    }

    public string Call { get; }

    public int ErrorNumber { get; }
}
