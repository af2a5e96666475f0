using Microsoft.Extensions.Logging;
using WanBond.Core.Buffers;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// The reader of one descriptor (a TUN device or a UDP socket). It has no thread of its own: once
/// started it is attached to the <see cref="Inbox"/>, and the engine thread drains it when the descriptor
/// is readable (one ppoll over every descriptor and the wake-up eventfd). So a packet costs no
/// thread hand-off and no wake-up: the engine reads, processes and sends in one go. Sockets are read
/// with recvmmsg (up to <see cref="SocketBatch"/> datagrams per call) and, with UDP_GRO, datagrams the
/// kernel coalesced are split here. The descriptor is re-read every round, so a link's socket
/// re-created underneath is picked up by itself.
/// </summary>
public sealed class ReceiveLoop : IDisposable
{
    /// <summary>Datagrams per recvmmsg.</summary>
    public const int SocketBatch = 32;

    private const long ErrorBackoffUs = 50_000;

    private readonly string _name;
    private readonly Func<FileDescriptor?> _descriptor;
    private readonly bool _isSocket;
    private readonly bool _packetInfo;
    private readonly int _source;
    private readonly Inbox _inbox;
    private readonly ILogger _log;
    private readonly byte[] _discard = new byte[PacketBuffer.Capacity];
    private DatagramBatch? _batch;
    private byte[]? _tunRead;
    private FileDescriptor? _groEnabledOn;
    private long _lastErrorLogMs;
    private long _packets;
    private long _bytes;

    public ReceiveLoop(string name, Func<FileDescriptor?> descriptor, bool isSocket, int source, Inbox inbox, ILogger log, bool packetInfo = false)
    {
        _name = name;
        _descriptor = descriptor;
        _isSocket = isSocket;
        _packetInfo = packetInfo;
        _source = source;
        _inbox = inbox;
        _log = log;
    }

    public long Packets => Interlocked.Read(ref _packets);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Something may be waiting: set when ppoll said so, cleared when a drain emptied the descriptor.</summary>
    internal bool Ready { get; set; } = true;

    /// <summary>Until then (after a read error such as ENETDOWN) the engine leaves this descriptor alone.</summary>
    internal long BackoffUntilUs { get; private set; }

    /// <summary>The descriptor to wait on now, or null (none, closed, or backing off).</summary>
    internal FileDescriptor? Current(long nowUs)
    {
        var fd = _descriptor();
        return fd is null || fd.IsClosed || nowUs < BackoffUntilUs ? null : fd;
    }

    /// <summary>Attaches to the inbox: from now on the engine thread reads this descriptor.</summary>
    public void Start() => _inbox.Attach(this);

    /// <summary>
    /// Engine thread: reads what is waiting, up to <paramref name="budget"/> packets, into inbox items.
    /// Returns the packets read; <paramref name="drained"/> is true when the descriptor had nothing more.
    /// </summary>
    internal int Drain(int budget, long nowUs, out bool drained)
    {
        drained = true;
        var fd = Current(nowUs);
        if (fd is null || !Ready)
        {
            return 0;
        }
        try
        {
            var n = _isSocket ? DrainSocket(fd, budget, nowUs, out drained) : DrainFile(fd, budget, nowUs, out drained);
            Ready = !drained;
            return n;
        }
        catch (ObjectDisposedException)
        {
            // The descriptor was replaced or closed between reading it and using it: the next round takes the current one.
            return 0;
        }
    }

    private int DrainFile(FileDescriptor fd, int budget, long nowUs, out bool drained)
    {
        if (fd.ReadPrefix > 0)
        {
            return DrainTun(fd, budget, nowUs, out drained);
        }
        var count = 0;
        while (count < budget)
        {
            var item = _inbox.Rent();
            var n = item is null ? FileSyscalls.Read(fd, _discard) : FileSyscalls.Read(fd, item.Data);
            if (n < 0)
            {
                if (item is not null)
                {
                    _inbox.Return(item);
                }
                drained = true;
                OnError(n, nowUs);
                return count;
            }
            if (item is not null)
            {
                item.Length = n;
                item.Source = _source;
                _inbox.Post(item);
                _packets++;
                _bytes += n;
                count++;
            }
        }
        drained = false;
        return count;
    }

    /// <summary>A TUN with virtio_net_hdr: each read is one packet or a TCP super-packet, cut into segments here.</summary>
    private int DrainTun(FileDescriptor fd, int budget, long nowUs, out bool drained)
    {
        _tunRead ??= new byte[TunSyscalls.VnetHeaderSize + 65535];
        var count = 0;
        while (count < budget)
        {
            var n = FileSyscalls.Read(fd, _tunRead);
            if (n < 0)
            {
                drained = true;
                OnError(n, nowUs);
                return count;
            }
            var read = _tunRead.AsSpan(0, n);
            var segments = TunOffload.SegmentCount(read);
            for (var i = 0; i < segments; i++)
            {
                var item = _inbox.Rent();
                if (item is null)
                {
                    break; // the engine is behind: the rest is dropped, counted by the inbox
                }
                var length = TunOffload.WriteSegment(read, i, item.Data);
                if (length < 0)
                {
                    _inbox.Return(item);
                    break;
                }
                item.Length = length;
                item.Source = _source;
                _inbox.Post(item);
                _packets++;
                _bytes += length;
                count++;
            }
        }
        drained = false;
        return count;
    }

    private int DrainSocket(FileDescriptor fd, int budget, long nowUs, out bool drained)
    {
        if (_groEnabledOn != fd)
        {
            // Coalesced receive: one recvmmsg slot may hold up to 64 KiB of equal-sized datagrams.
            _groEnabledOn = fd;
            if (!DatagramBatch.TryEnableGro(fd))
            {
                _log.LogDebug("{Name}: UDP_GRO not available", _name);
            }
        }
        _batch ??= new DatagramBatch(SocketBatch, 65535);
        var count = 0;
        while (count < budget)
        {
            var n = _batch.Receive(fd, SocketBatch);
            if (n < 0)
            {
                drained = true;
                OnError(n, nowUs);
                return count;
            }
            for (var i = 0; i < n; i++)
            {
                count += Split(i);
            }
            if (n < SocketBatch)
            {
                // A short batch: the queue was empty when the call returned.
                drained = true;
                return count;
            }
        }
        drained = false;
        return count;
    }

    /// <summary>Posts slot <paramref name="slot"/>'s datagram(s): one, or several when UDP_GRO coalesced them.</summary>
    private int Split(int slot)
    {
        var b = _batch!;
        var payload = b.Payload(slot);
        var local = default(PacketInfo);
        b.GetControl(slot, ref local, out var segment);
        if (segment <= 0 || segment >= payload.Length)
        {
            return Post(slot, payload, ref local) ? 1 : 0;
        }
        var posted = 0;
        for (var offset = 0; offset < payload.Length; offset += segment)
        {
            if (!Post(slot, payload.Slice(offset, Math.Min(segment, payload.Length - offset)), ref local))
            {
                break;
            }
            posted++;
        }
        return posted;
    }

    private bool Post(int slot, ReadOnlySpan<byte> datagram, ref PacketInfo local)
    {
        var item = _inbox.Rent();
        if (item is null)
        {
            return false; // the engine is behind: dropped, counted by the inbox
        }
        if (datagram.Length > item.Data.Length)
        {
            _inbox.Return(item);
            return false; // too big to be one of ours
        }
        datagram.CopyTo(item.Data);
        item.Length = datagram.Length;
        item.Source = _source;
        _batch!.GetSource(slot, ref item.From);
        item.To = local;
        _inbox.Post(item);
        _packets++;
        _bytes += datagram.Length;
        return true;
    }

    private void OnError(int n, long nowUs)
    {
        if (n is -Errno.EAGAIN or -Errno.EINTR)
        {
            return;
        }
        // UDP reports ICMP errors of earlier sends here (ECONNREFUSED, EHOSTUNREACH); a vanished
        // interface gives ENETDOWN or ENODEV until the link watcher replaces the socket. None is fatal.
        var ms = Environment.TickCount64;
        if (ms - _lastErrorLogMs > 10_000)
        {
            _lastErrorLogMs = ms;
            _log.LogDebug("{Name}: read: {Error}", _name, Errno.Describe(-n));
        }
        if (n is -Errno.ENETDOWN or -Errno.ENODEV or -Errno.EINVAL)
        {
            BackoffUntilUs = nowUs + ErrorBackoffUs;
        }
    }

    /// <summary>Detaches from the inbox: the engine stops reading this descriptor.</summary>
    public void Stop() => _inbox.Detach(this);

    public void Dispose()
    {
        Stop();
        // The engine thread has stopped (or never started) by the time the owner disposes its receivers.
        _batch?.Dispose();
        _batch = null;
    }
}
