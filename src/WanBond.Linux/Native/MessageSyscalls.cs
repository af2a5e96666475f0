using System.Runtime.InteropServices;

namespace WanBond.Linux.Native;

/// <summary>
/// The local address a datagram arrived at. A multi-homed proxy must answer from exactly that address:
/// a reply from another one does not match the modem's NAT mapping and is dropped there.
/// </summary>
public unsafe struct PacketInfo : IEquatable<PacketInfo>
{
    private fixed byte _address[16];

    /// <summary>False until a receive filled it (then sends let the kernel choose the source).</summary>
    public bool IsSet { get; internal set; }

    /// <summary>IPv6 (or IPv4-mapped, on a dual-stack socket) rather than IPv4.</summary>
    public bool IsIPv6 { get; internal set; }

    internal byte* Address
    {
        get
        {
            fixed (byte* p = _address)
            {
                return p;
            }
        }
    }

    public readonly bool Equals(PacketInfo other)
    {
        fixed (byte* a = _address)
        {
            return IsSet == other.IsSet && IsIPv6 == other.IsIPv6 && new ReadOnlySpan<byte>(a, 16).SequenceEqual(new ReadOnlySpan<byte>(other._address, 16));
        }
    }

    public override readonly bool Equals(object? obj) => obj is PacketInfo other && Equals(other);

    public override readonly int GetHashCode() => HashCode.Combine(IsSet, IsIPv6);

    public static bool operator ==(PacketInfo left, PacketInfo right) => left.Equals(right);

    public static bool operator !=(PacketInfo left, PacketInfo right) => !left.Equals(right);
}

/// <summary>recvmsg/sendmsg with IP_PKTINFO / IPV6_PKTINFO: receive a datagram with its destination address, send one from a given source.</summary>
public static unsafe partial class MessageSyscalls
{
    private const int IPPROTO_IP = 0;
    private const int IP_PKTINFO = 8;
    private const int IPPROTO_IPV6 = 41;
    private const int IPV6_RECVPKTINFO = 49;
    private const int IPV6_PKTINFO = 50;
    private const int MSG_DONTWAIT = 0x40;
    private const int ControlSize = 64;

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(FileDescriptor fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(FileDescriptor fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(FileDescriptor fd, int level, int name, void* value, uint length);

    /// <summary>Asks the kernel to report each datagram's destination address (for <see cref="ReceiveFrom"/>).</summary>
    public static void EnablePacketInfo(FileDescriptor fd, bool ipv6Socket)
    {
        var one = 1;
        var r = ipv6Socket ? SetSockOpt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(int)) : SetSockOpt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(int));
        if (r < 0)
        {
            throw new SyscallException(ipv6Socket ? "setsockopt IPV6_RECVPKTINFO" : "setsockopt IP_PKTINFO", Errno.Last);
        }
    }

    /// <summary>Bytes received, or -errno. <paramref name="local"/> gets the address the datagram was sent to.</summary>
    public static int ReceiveFrom(FileDescriptor fd, Span<byte> buffer, ref InetSocketAddress source, ref PacketInfo local)
    {
        var control = stackalloc byte[ControlSize];
        fixed (byte* p = buffer)
        fixed (InetSocketAddress* s = &source)
        {
            var iov = new IoVec { Base = p, Length = (nuint)buffer.Length };
            var msg = new MsgHdr { Name = s->Pointer, NameLength = InetSocketAddress.MaxLength, Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSize };
            var n = RecvMsg(fd, &msg, MSG_DONTWAIT);
            if (n < 0)
            {
                return -Errno.Last;
            }
            s->Length = (int)msg.NameLength;
            ParseControl(control, (int)msg.ControlLength, ref local, out _);
            return (int)n;
        }
    }

    /// <summary>Reads IP_PKTINFO / IPV6_PKTINFO (into <paramref name="local"/>) and UDP_GRO (the segment size, 0 without) from a received control buffer.</summary>
    internal static void ParseControl(byte* control, int length, ref PacketInfo local, out int groSegment)
    {
        local.IsSet = false;
        groSegment = 0;
        var offset = 0;
        while (offset + sizeof(CmsgHdr) <= length)
        {
            var c = (CmsgHdr*)(control + offset);
            var data = (byte*)(c + 1);
            if (c->Level == IPPROTO_IPV6 && c->Type == IPV6_PKTINFO)
            {
                Buffer.MemoryCopy(data, local.Address, 16, 16); // in6_pktinfo: address first
                local.IsIPv6 = true;
                local.IsSet = true;
            }
            else if (c->Level == IPPROTO_IP && c->Type == IP_PKTINFO)
            {
                Buffer.MemoryCopy(data + 4, local.Address, 4, 4); // in_pktinfo: ifindex, spec_dst, addr
                local.IsIPv6 = false;
                local.IsSet = true;
            }
            else if (c->Level == DatagramBatch.SOL_UDP && c->Type == DatagramBatch.UDP_GRO)
            {
                groSegment = *(int*)data;
            }
            if (c->Length == 0)
            {
                break;
            }
            offset += (int)((c->Length + 7) & ~(nuint)7);
        }
    }

    /// <summary>Bytes sent, or -errno; from <paramref name="local"/>'s address when set.</summary>
    public static int SendTo(FileDescriptor fd, ReadOnlySpan<byte> datagram, ref InetSocketAddress destination, ref PacketInfo local)
    {
        if (WriteBatchHook.Batch is { } batch)
        {
            // On the engine thread inside a round: queued and sent with its neighbours as one UDP GSO sendmsg.
            batch.Add(fd, datagram, ref destination, ref local);
            return datagram.Length;
        }
        return SendSegments(fd, datagram, 0, ref destination, ref local);
    }

    /// <summary>
    /// Sends <paramref name="data"/> as one datagram, or with <paramref name="segmentSize"/> &gt; 0 as datagrams
    /// of that size (the last may be shorter) in one call (UDP_SEGMENT, GSO). Bytes sent, or -errno.
    /// </summary>
    public static int SendSegments(FileDescriptor fd, ReadOnlySpan<byte> data, int segmentSize, ref InetSocketAddress destination, ref PacketInfo local)
    {
        var control = stackalloc byte[ControlSize];
        new Span<byte>(control, ControlSize).Clear();
        fixed (byte* p = data)
        fixed (InetSocketAddress* d = &destination)
        {
            var iov = new IoVec { Base = p, Length = (nuint)data.Length };
            var msg = new MsgHdr { Name = d->Pointer, NameLength = (uint)d->Length, Iov = &iov, IovLength = 1 };
            var used = 0;
            if (local.IsSet)
            {
                var c = (CmsgHdr*)control;
                var cdata = (byte*)(c + 1);
                if (local.IsIPv6)
                {
                    c->Level = IPPROTO_IPV6;
                    c->Type = IPV6_PKTINFO;
                    c->Length = (nuint)(sizeof(CmsgHdr) + 20);
                    Buffer.MemoryCopy(local.Address, cdata, 16, 16);
                }
                else
                {
                    c->Level = IPPROTO_IP;
                    c->Type = IP_PKTINFO;
                    c->Length = (nuint)(sizeof(CmsgHdr) + 12);
                    Buffer.MemoryCopy(local.Address, cdata + 4, 4, 4); // spec_dst: the source to use
                }
                used = (int)((c->Length + 7) & ~(nuint)7);
            }
            if (segmentSize > 0)
            {
                var c = (CmsgHdr*)(control + used);
                c->Level = DatagramBatch.SOL_UDP;
                c->Type = DatagramBatch.UDP_SEGMENT;
                c->Length = (nuint)(sizeof(CmsgHdr) + 2);
                *(ushort*)(c + 1) = (ushort)segmentSize;
                used += (int)((c->Length + 7) & ~(nuint)7);
            }
            if (used > 0)
            {
                msg.Control = control;
                msg.ControlLength = (nuint)used;
            }
            var n = SendMsg(fd, &msg, MSG_DONTWAIT);
            return n < 0 ? -Errno.Last : (int)n;
        }
    }
}

/// <summary>The engine thread's datagram batch while a round is open (set by the datapath's WriteBatch), else null.</summary>
public static class WriteBatchHook
{
    [ThreadStatic]
    private static UdpGsoBatch? t_batch;

    public static UdpGsoBatch? Batch
    {
        get => t_batch;
        set => t_batch = value;
    }
}
