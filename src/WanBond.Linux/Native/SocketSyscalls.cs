using System.Runtime.InteropServices;
using System.Text;

namespace WanBond.Linux.Native;

/// <summary>UDP sockets: socket, setsockopt (SO_BINDTODEVICE, buffers, IPV6_V6ONLY), bind, sendto, recvfrom.</summary>
public static unsafe partial class SocketSyscalls
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    private const int SOCK_DGRAM = 2;
    private const int SOCK_NONBLOCK = 0x800;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int SOL_SOCKET = 1;
    private const int SO_REUSEADDR = 2;
    private const int SO_SNDBUF = 7;
    private const int SO_RCVBUF = 8;
    private const int SO_BINDTODEVICE = 25;
    private const int SO_SNDBUFFORCE = 32;
    private const int SO_RCVBUFFORCE = 33;
    private const int IPPROTO_IPV6 = 41;
    private const int IPV6_V6ONLY = 26;
    private const int MSG_DONTWAIT = 0x40;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int SocketRaw(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(FileDescriptor fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int BindRaw(FileDescriptor fd, byte* address, uint length);

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    private static partial int GetSockName(FileDescriptor fd, byte* address, uint* length);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial nint SendToRaw(FileDescriptor fd, byte* buffer, nint length, int flags, byte* address, uint addressLength);

    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    private static partial nint RecvFromRaw(FileDescriptor fd, byte* buffer, nint length, int flags, byte* address, uint* addressLength);

    /// <summary>A non-blocking UDP socket; <paramref name="dualStack"/> lets an IPv6 socket take IPv4 too.</summary>
    public static FileDescriptor CreateUdp(int family, bool dualStack = false)
    {
        var fd = SocketRaw(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new SyscallException(family == AF_INET6 ? "socket AF_INET6" : "socket AF_INET", Errno.Last);
        }
        var handle = new FileDescriptor(fd);
        try
        {
            if (family == AF_INET6)
            {
                SetInt(handle, IPPROTO_IPV6, IPV6_V6ONLY, dualStack ? 0 : 1, "IPV6_V6ONLY");
            }
            SetInt(handle, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Sends everything on this socket out of <paramref name="interfaceName"/>, whatever the routing table says (needs CAP_NET_RAW).</summary>
    public static void BindToDevice(FileDescriptor fd, string interfaceName)
    {
        var bytes = Encoding.ASCII.GetBytes(interfaceName + "\0");
        fixed (byte* p = bytes)
        {
            if (SetSockOpt(fd, SOL_SOCKET, SO_BINDTODEVICE, p, (uint)bytes.Length) < 0)
            {
                throw new SyscallException($"setsockopt SO_BINDTODEVICE {interfaceName}", Errno.Last);
            }
        }
    }

    /// <summary>Asks for large socket buffers (bursts of a fast link); forced when privileged, best effort otherwise.</summary>
    public static void SetBufferSizes(FileDescriptor fd, int bytes)
    {
        if (TrySetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes) != 0)
        {
            TrySetInt(fd, SOL_SOCKET, SO_RCVBUF, bytes);
        }
        if (TrySetInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes) != 0)
        {
            TrySetInt(fd, SOL_SOCKET, SO_SNDBUF, bytes);
        }
    }

    public static void Bind(FileDescriptor fd, in InetSocketAddress address)
    {
        var copy = address;
        if (BindRaw(fd, copy.Pointer, (uint)copy.Length) < 0)
        {
            throw new SyscallException($"bind {address}", Errno.Last);
        }
    }

    public static InetSocketAddress GetLocalAddress(FileDescriptor fd)
    {
        var a = default(InetSocketAddress);
        uint len = InetSocketAddress.MaxLength;
        if (GetSockName(fd, a.Pointer, &len) < 0)
        {
            throw new SyscallException("getsockname", Errno.Last);
        }
        a.Length = (int)len;
        return a;
    }

    /// <summary>Bytes sent, or -errno.</summary>
    public static int SendTo(FileDescriptor fd, ReadOnlySpan<byte> datagram, ref InetSocketAddress destination)
    {
        fixed (byte* p = datagram)
        fixed (InetSocketAddress* d = &destination)
        {
            var n = SendToRaw(fd, p, datagram.Length, MSG_DONTWAIT, d->Pointer, (uint)d->Length);
            return n < 0 ? -Errno.Last : (int)n;
        }
    }

    /// <summary>Bytes received, or -errno; <paramref name="source"/> is the sender.</summary>
    public static int ReceiveFrom(FileDescriptor fd, Span<byte> buffer, ref InetSocketAddress source)
    {
        fixed (byte* p = buffer)
        fixed (InetSocketAddress* s = &source)
        {
            uint len = InetSocketAddress.MaxLength;
            var n = RecvFromRaw(fd, p, buffer.Length, MSG_DONTWAIT, s->Pointer, &len);
            if (n < 0)
            {
                return -Errno.Last;
            }
            s->Length = (int)len;
            return (int)n;
        }
    }

    private static void SetInt(FileDescriptor fd, int level, int name, int value, string what)
    {
        if (TrySetInt(fd, level, name, value) != 0)
        {
            throw new SyscallException($"setsockopt {what}", Errno.Last);
        }
    }

    private static int TrySetInt(FileDescriptor fd, int level, int name, int value) =>
        SetSockOpt(fd, level, name, &value, sizeof(int)) < 0 ? Errno.Last : 0;
}
