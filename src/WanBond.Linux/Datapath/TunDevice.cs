using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// A TUN device carrying bare IPv4 and IPv6 packets (IFF_NO_PI). Not persistent: the kernel removes
/// it when the descriptor closes, so a crashed daemon never leaves one behind.
/// Opened with IFF_VNET_HDR: inside an engine round (<see cref="WriteBatch"/>) consecutive TCP segments
/// of one flow are merged into one GSO super-packet (<see cref="TcpCoalescer"/>), so the kernel's
/// forwarding path runs once per burst instead of once per 1400-byte packet. With TSO offload on, reads
/// likewise return up to 64 KiB TCP super-packets that the receive loop segments (<see cref="TunOffload"/>).
/// </summary>
public sealed class TunDevice : IDisposable, IBatchedWriter
{
    private readonly TcpCoalescer? _coalescer;
    private readonly byte[]? _plain;
    private long _writeErrors;

    private TunDevice(FileDescriptor fd, string name, bool vnetHeader)
    {
        Descriptor = fd;
        Name = name;
        if (vnetHeader)
        {
            fd.ReadPrefix = TunSyscalls.VnetHeaderSize;
            _coalescer = new TcpCoalescer(WriteRaw);
            _plain = new byte[TunSyscalls.VnetHeaderSize + TcpCoalescer.MaxPacket];
        }
    }

    public FileDescriptor Descriptor { get; }

    public string Name { get; }

    public long WriteErrors => _writeErrors + (_coalescer?.Errors ?? 0);

    /// <summary>GSO super-packets written (several TCP segments each).</summary>
    public long SuperPackets => _coalescer?.Merged ?? 0;

    public static TunDevice Open(string name) => Open(name, vnetHeader: true);

    public static TunDevice Open(string name, bool vnetHeader)
    {
        var fd = TunSyscalls.Open(name, out var actual, vnetHeader);
        FileSyscalls.SetNonBlocking(fd);
        if (vnetHeader)
        {
            // Reads: TCP super-packets (segmented by the receive loop) instead of one 1400-byte packet each.
            TunSyscalls.TrySetTsoOffload(fd);
        }
        return new TunDevice(fd, actual, vnetHeader);
    }

    /// <summary>Hands one packet to the kernel's IP stack. A failure (no route, bad packet) costs a counter, never the datapath.</summary>
    public void Write(ReadOnlySpan<byte> packet)
    {
        if (_coalescer is null)
        {
            if (FileSyscalls.Write(Descriptor, packet) < 0)
            {
                _writeErrors++;
            }
            return;
        }
        if (WriteBatch.IsOpen)
        {
            _coalescer.Add(packet);
            if (_coalescer.IsHolding)
            {
                WriteBatch.Enlist(this);
            }
            return;
        }
        // Outside an engine round: at once, behind an empty virtio_net_hdr.
        if (packet.Length > TcpCoalescer.MaxPacket)
        {
            _writeErrors++;
            return;
        }
        _plain.AsSpan(0, TunSyscalls.VnetHeaderSize).Clear();
        packet.CopyTo(_plain.AsSpan(TunSyscalls.VnetHeaderSize));
        if (FileSyscalls.Write(Descriptor, _plain.AsSpan(0, TunSyscalls.VnetHeaderSize + packet.Length)) < 0)
        {
            _writeErrors++;
        }
    }

    /// <summary>Writes what the coalescer holds (end of the engine round).</summary>
    public void Flush() => _coalescer?.Flush();

    private int WriteRaw(ReadOnlyMemory<byte> buffer) => FileSyscalls.Write(Descriptor, buffer.Span);

    public void Dispose() => Descriptor.Dispose();
}
