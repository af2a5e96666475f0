using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace WanBond.Testbed.Native;

/// <summary>
/// An AF_PACKET raw socket bound to one interface: reads every frame the interface receives
/// (promiscuous, not the frames this host sends on it) and sends whole Ethernet frames out of it.
/// </summary>
internal sealed partial class PacketSocket : IDisposable
{
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private const ushort EthPAll = 0x0003;
    private const int SolSocket = 1;
    private const int SoSndBufForce = 32;
    private const int SoRcvBufForce = 33;
    private const int SolPacket = 263;
    private const int PacketAddMembership = 1;
    private const int PacketMrPromisc = 1;
    private const int PacketIgnoreOutgoing = 23;
    private const int MsgTrunc = 0x20;
    private const int MsgDontWait = 0x40;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const int ENoBufs = 105;

    private readonly FileDescriptor _fd;

    private PacketSocket(FileDescriptor fd, string name, int ifIndex)
    {
        _fd = fd;
        Interface = name;
        IfIndex = ifIndex;
    }

    public string Interface { get; }

    public int IfIndex { get; }

    public FileDescriptor Handle => _fd;

    public static PacketSocket Open(string interfaceName, int bufferBytes = 4 << 20)
    {
        int ifIndex = (int)IfNameToIndex(interfaceName);
        if (ifIndex == 0)
        {
            throw new NativeException($"interface '{interfaceName}' not found in this network namespace");
        }
        // Protocol 0 at creation receives nothing, so no frame of another interface slips in before bind.
        int raw = Socket(AfPacket, SockRaw | SockCloexec, 0);
        if (raw < 0)
        {
            throw NativeException.Last("socket(AF_PACKET)");
        }
        var fd = new FileDescriptor(raw);
        try
        {
            Span<byte> sll = stackalloc byte[20];
            sll.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(sll, AfPacket);
            BinaryPrimitives.WriteUInt16BigEndian(sll[2..], EthPAll);
            BinaryPrimitives.WriteInt32LittleEndian(sll[4..], ifIndex);
            if (Bind(fd, sll, sll.Length) != 0)
            {
                throw NativeException.Last($"bind(AF_PACKET, {interfaceName})");
            }
            SetInt(fd, SolPacket, PacketIgnoreOutgoing, 1, "PACKET_IGNORE_OUTGOING");
            Span<byte> mreq = stackalloc byte[16];
            mreq.Clear();
            BinaryPrimitives.WriteInt32LittleEndian(mreq, ifIndex);
            BinaryPrimitives.WriteUInt16LittleEndian(mreq[4..], PacketMrPromisc);
            if (SetSockOpt(fd, SolPacket, PacketAddMembership, mreq, mreq.Length) != 0)
            {
                throw NativeException.Last("PACKET_ADD_MEMBERSHIP(PROMISC)");
            }
            SetInt(fd, SolSocket, SoRcvBufForce, bufferBytes, "SO_RCVBUFFORCE");
            SetInt(fd, SolSocket, SoSndBufForce, bufferBytes, "SO_SNDBUFFORCE");
            return new PacketSocket(fd, interfaceName, ifIndex);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads one frame without blocking. Returns its full length (which may exceed the buffer:
    /// then it was truncated), 0 when nothing is waiting, or -errno.
    /// </summary>
    public int TryReceive(Span<byte> frame)
    {
        while (true)
        {
            nint n = Recv(_fd, ref MemoryMarshal.GetReference(frame), (nuint)frame.Length, MsgDontWait | MsgTrunc);
            if (n >= 0)
            {
                return (int)n;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EIntr)
            {
                continue;
            }
            return errno == EAgain ? 0 : -errno;
        }
    }

    /// <summary>Sends one frame out of the interface; 0 or -errno.</summary>
    public int Send(ReadOnlySpan<byte> frame)
    {
        while (true)
        {
            nint n = SendNative(_fd, ref MemoryMarshal.GetReference(frame), (nuint)frame.Length, 0);
            if (n >= 0)
            {
                return 0;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EIntr)
            {
                return -errno;
            }
        }
    }

    public void Dispose() => _fd.Dispose();

    private static void SetInt(FileDescriptor fd, int level, int name, int value, string what)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(v, value);
        if (SetSockOpt(fd, level, name, v, 4) != 0)
        {
            throw NativeException.Last($"setsockopt({what})");
        }
    }

    [LibraryImport("libc", EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint IfNameToIndex(string name);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int Bind(FileDescriptor fd, ReadOnlySpan<byte> addr, int len);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(FileDescriptor fd, int level, int name, ReadOnlySpan<byte> value, int len);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(FileDescriptor fd, ref byte buf, nuint len, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint SendNative(FileDescriptor fd, ref byte buf, nuint len, int flags);
}
