using System.Runtime.InteropServices;
using static WanBond.Linux.Native.MessageSyscalls;

namespace WanBond.Linux.Native;

/// <summary>
/// recvmmsg into native buffers owned by one reader: up to <see cref="Count"/> datagrams per system call,
/// each with its sender's address, the local address it arrived at (when IP_PKTINFO is on) and, with
/// UDP_GRO on, several equal-sized datagrams coalesced by the kernel into one slot (split them with
/// <see cref="SegmentSize"/>). Allocated once; nothing per call.
/// </summary>
public sealed unsafe partial class DatagramBatch : IDisposable
{
    public const int SOL_UDP = 17;
    public const int UDP_SEGMENT = 103;
    public const int UDP_GRO = 104;
    private const int MSG_DONTWAIT = 0x40;
    private const int NameSize = 32;
    private const int ControlBytes = 128;

    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    private readonly MMsgHdr* _msgs;
    private readonly IoVec* _iov;
    private readonly byte* _data;
    private readonly byte* _names;
    private readonly byte* _control;
    private bool _disposed;

    /// <param name="count">Datagrams (slots) per call.</param>
    /// <param name="slotBytes">Bytes per slot: a datagram, or 65535 for UDP_GRO's coalesced ones.</param>
    public DatagramBatch(int count, int slotBytes)
    {
        Count = count;
        SlotBytes = slotBytes;
        _msgs = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(count * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(count * sizeof(IoVec)));
        _data = (byte*)NativeMemory.Alloc((nuint)count * (nuint)slotBytes);
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(count * NameSize));
        _control = (byte*)NativeMemory.AllocZeroed((nuint)(count * ControlBytes));
        for (var i = 0; i < count; i++)
        {
            _iov[i].Base = _data + (long)i * slotBytes;
            _iov[i].Length = (nuint)slotBytes;
            _msgs[i].Header.Iov = &_iov[i];
            _msgs[i].Header.IovLength = 1;
            _msgs[i].Header.Name = _names + i * NameSize;
            _msgs[i].Header.Control = _control + i * ControlBytes;
        }
    }

    public int Count { get; }

    public int SlotBytes { get; }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int RecvMMsg(FileDescriptor fd, MMsgHdr* msgs, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(FileDescriptor fd, int level, int name, void* value, uint length);

    /// <summary>Turns on UDP receive coalescing (Linux ≥ 5.0). False when the kernel refuses it.</summary>
    public static bool TryEnableGro(FileDescriptor fd)
    {
        var one = 1;
        return SetSockOpt(fd, SOL_UDP, UDP_GRO, &one, sizeof(int)) == 0;
    }

    /// <summary>Receives up to <paramref name="max"/> (≤ <see cref="Count"/>) datagrams without blocking: how many, or -errno.</summary>
    public int Receive(FileDescriptor fd, int max)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        max = Math.Min(max, Count);
        for (var i = 0; i < max; i++)
        {
            _msgs[i].Header.NameLength = NameSize;
            _msgs[i].Header.ControlLength = ControlBytes;
            _msgs[i].Header.Flags = 0;
        }
        var n = RecvMMsg(fd, _msgs, (uint)max, MSG_DONTWAIT, null);
        return n < 0 ? -Errno.Last : n;
    }

    /// <summary>The bytes of slot <paramref name="i"/> after <see cref="Receive"/>.</summary>
    public ReadOnlySpan<byte> Payload(int i) => new(_data + (long)i * SlotBytes, (int)_msgs[i].Length);

    /// <summary>The sender of slot <paramref name="i"/>.</summary>
    public void GetSource(int i, ref InetSocketAddress source)
    {
        var length = (int)Math.Min(_msgs[i].Header.NameLength, InetSocketAddress.MaxLength);
        fixed (InetSocketAddress* s = &source)
        {
            Buffer.MemoryCopy(_names + i * NameSize, s->Pointer, InetSocketAddress.MaxLength, length);
            s->Length = length;
        }
    }

    /// <summary>Slot <paramref name="i"/>'s local address (IP_PKTINFO) and its GRO segment size (0: one datagram).</summary>
    public void GetControl(int i, ref PacketInfo local, out int segmentSize)
        => ParseControl(_control + i * ControlBytes, (int)_msgs[i].Header.ControlLength, ref local, out segmentSize);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        NativeMemory.Free(_msgs);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_data);
        NativeMemory.Free(_names);
        NativeMemory.Free(_control);
    }
}
