namespace WanBond.Linux.Native;

/// <summary>
/// Datagrams queued during one engine round and sent with UDP GSO: consecutive datagrams of the same size
/// to the same destination, from the same socket and source, leave in one sendmsg with UDP_SEGMENT (up to
/// 64 of them, 64 KiB), and travel through the kernel — routing, netfilter, veth, a NAT — as one packet,
/// to be split at the receiver (UDP_GRO) or by the first device that cannot carry it. A socket whose
/// device refuses GSO (EIO: no checksum offload) falls back to one datagram per call for good.
/// Not thread-safe: one per engine thread. No allocation per datagram.
/// </summary>
public sealed class UdpGsoBatch
{
    private const int MaxBytes = 65000;
    private const int MaxSegments = 64;

    private readonly byte[] _buffer = new byte[MaxBytes];
    private FileDescriptor? _fd;
    private FileDescriptor? _refused;
    private InetSocketAddress _destination;
    private PacketInfo _local;
    private int _segment;
    private int _count;
    private int _length;
    private bool _closed;

    /// <summary>Datagrams that could not be sent.</summary>
    public long Errors { get; private set; }

    /// <summary>Datagrams sent and sendmsg calls made: their ratio is the batching achieved.</summary>
    public long Datagrams { get; private set; }

    public long Calls { get; private set; }

    /// <summary>Called after each flushed run with (socket, bytes, datagrams) sent successfully — for per-socket counters.</summary>
    public Action<FileDescriptor, int, int>? Sent { get; set; }

    public bool IsHolding => _count > 0;

    /// <summary>Datagrams handed to <see cref="Add"/> so far.</summary>
    public long Queued { get; private set; }

    public void Add(FileDescriptor fd, ReadOnlySpan<byte> datagram, ref InetSocketAddress destination, ref PacketInfo local)
    {
        Queued++;
        if (datagram.Length > MaxBytes)
        {
            Errors++;
            return;
        }
        if (_count > 0 && !_closed && fd == _fd && datagram.Length <= _segment && _count < MaxSegments
            && _length + datagram.Length <= MaxBytes && destination == _destination && local == _local)
        {
            datagram.CopyTo(_buffer.AsSpan(_length));
            _length += datagram.Length;
            _count++;
            _closed = datagram.Length < _segment; // only the last may be shorter
            return;
        }
        Flush();
        if (fd == _refused)
        {
            Send(fd, datagram, 0, ref destination, ref local, 1);
            return;
        }
        datagram.CopyTo(_buffer);
        _fd = fd;
        _destination = destination;
        _local = local;
        _segment = datagram.Length;
        _length = datagram.Length;
        _count = 1;
        _closed = false;
    }

    public void Flush()
    {
        if (_count == 0)
        {
            return;
        }
        var fd = _fd!;
        var count = _count;
        _count = 0;
        _fd = null;
        if (count == 1)
        {
            Send(fd, _buffer.AsSpan(0, _length), 0, ref _destination, ref _local, 1);
            return;
        }
        try
        {
            var n = MessageSyscalls.SendSegments(fd, _buffer.AsSpan(0, _length), _segment, ref _destination, ref _local);
            Calls++;
            if (n >= 0)
            {
                Datagrams += count;
                Sent?.Invoke(fd, _length, count);
                return;
            }
            if (n is -Errno.EIO or -Errno.EINVAL or -ENOPROTOOPT)
            {
                // No GSO on this socket's device: one by one, now and from now on.
                _refused = fd;
                for (var offset = 0; offset < _length; offset += _segment)
                {
                    Send(fd, _buffer.AsSpan(offset, Math.Min(_segment, _length - offset)), 0, ref _destination, ref _local, 1);
                }
                return;
            }
            Errors += count;
        }
        catch (ObjectDisposedException)
        {
            Errors += count; // the socket was replaced underneath (link gone)
        }
    }

    private const int ENOPROTOOPT = 92;

    private void Send(FileDescriptor fd, ReadOnlySpan<byte> datagram, int segment, ref InetSocketAddress destination, ref PacketInfo local, int count)
    {
        try
        {
            Calls++;
            if (MessageSyscalls.SendSegments(fd, datagram, segment, ref destination, ref local) < 0)
            {
                Errors += count;
                return;
            }
            Datagrams += count;
            Sent?.Invoke(fd, datagram.Length, count);
        }
        catch (ObjectDisposedException)
        {
            Errors += count;
        }
    }
}
