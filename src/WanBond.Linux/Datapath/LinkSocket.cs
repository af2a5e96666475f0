using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// The router's UDP socket for one link, bound with SO_BINDTODEVICE to the link's interface so its
/// datagrams leave through that modem whatever the routing table says. The socket is not bound to an
/// address: the kernel picks the link's current source address per send, so an address change needs
/// nothing. A binding to a device holds its ifindex, so when the interface vanishes and returns the
/// socket is re-created (<see cref="Reopen"/>); the receive loop picks up the new one by itself.
/// </summary>
public sealed class LinkSocket : IDisposable
{
    private readonly int _family;
    private readonly int _bufferBytes;
    private volatile FileDescriptor? _fd;
    private long _sendErrors;

    public LinkSocket(int index, string interfaceName, int family, int bufferBytes = 4 << 20)
    {
        Index = index;
        InterfaceName = interfaceName;
        _family = family;
        _bufferBytes = bufferBytes;
    }

    public int Index { get; }

    public string InterfaceName { get; }

    /// <summary>The current socket, or null while the link has none (interface absent).</summary>
    public FileDescriptor? Descriptor => _fd;

    public long SendErrors => Interlocked.Read(ref _sendErrors);

    public long BytesSent { get; private set; }

    public long DatagramsSent { get; private set; }

    /// <summary>Creates a fresh socket bound to the interface (its current ifindex) and retires the old one.</summary>
    public void Reopen()
    {
        var fd = SocketSyscalls.CreateUdp(_family);
        try
        {
            SocketSyscalls.BindToDevice(fd, InterfaceName);
            SocketSyscalls.SetBufferSizes(fd, _bufferBytes);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
        var old = _fd;
        _fd = fd;
        old?.Dispose();
    }

    /// <summary>Closes the socket (interface gone).</summary>
    public void Close()
    {
        var old = _fd;
        _fd = null;
        old?.Dispose();
    }

    /// <summary>Engine thread only. A datagram that cannot leave is lost, as on the wire; the engine's loss detection handles it.</summary>
    public void Send(ReadOnlySpan<byte> datagram, ref InetSocketAddress destination)
    {
        var fd = _fd;
        if (fd is null)
        {
            _sendErrors++;
            return;
        }
        if (WriteBatchHook.Batch is { } batch)
        {
            // Inside an engine round: queued, and sent with its neighbours as one UDP GSO sendmsg when the
            // round ends (errors then count in the batch's counter).
            var none = default(PacketInfo);
            batch.Add(fd, datagram, ref destination, ref none);
            BytesSent += datagram.Length;
            DatagramsSent++;
            return;
        }
        try
        {
            if (SocketSyscalls.SendTo(fd, datagram, ref destination) < 0)
            {
                _sendErrors++;
                return;
            }
            BytesSent += datagram.Length;
            DatagramsSent++;
        }
        catch (ObjectDisposedException)
        {
            _sendErrors++;
        }
    }

    public void Dispose() => Close();
}
