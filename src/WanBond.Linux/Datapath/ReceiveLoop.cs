using Microsoft.Extensions.Logging;
using System.Runtime.CompilerServices;
using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// A dedicated thread that reads one descriptor (a TUN device or a UDP socket) into pooled buffers and
/// posts them to the engine. Non-blocking reads until EAGAIN, then a bounded poll, so it notices both
/// a stop request and a descriptor swapped underneath it (a link's socket re-created) within 200 ms.
/// </summary>
public sealed class ReceiveLoop : IDisposable
{
    private const long IdlePollUs = 200_000;

    private readonly string _name;
    private readonly Func<FileDescriptor?> _descriptor;
    private readonly bool _isSocket;
    private readonly bool _packetInfo;
    private readonly int _source;
    private readonly Inbox _inbox;
    private readonly ILogger _log;
    private readonly Thread _thread;
    private readonly byte[] _discard = new byte[2048];
    private volatile bool _stopping;
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
        _thread = new Thread(Run) { IsBackground = true, Name = "rx " + name };
    }

    public long Packets => Interlocked.Read(ref _packets);

    public long Bytes => Interlocked.Read(ref _bytes);

    public void Start() => _thread.Start();

    private void Run()
    {
        var lastErrorLog = 0L;
        while (!_stopping)
        {
            var fd = _descriptor();
            if (fd is null || fd.IsClosed)
            {
                Thread.Sleep(50);
                continue;
            }
            try
            {
                var item = _inbox.Rent();
                int n;
                if (item is null)
                {
                    n = ReadInto(fd, _discard, ref Unsafe.NullRef<InboundItem>(), dropOnly: true);
                    if (n == -Errno.EAGAIN)
                    {
                        PollSyscalls.WaitReadable(fd, IdlePollUs);
                    }
                    continue;
                }
                n = ReadInto(fd, item.Data, ref item, dropOnly: false);
                if (n >= 0)
                {
                    item.Length = n;
                    item.Source = _source;
                    _packets++;
                    _bytes += n;
                    _inbox.Post(item);
                    continue;
                }
                _inbox.Return(item);
                if (n == -Errno.EAGAIN)
                {
                    PollSyscalls.WaitReadable(fd, IdlePollUs);
                }
                else if (n != -Errno.EINTR)
                {
                    // UDP reports ICMP errors of earlier sends here (ECONNREFUSED, EHOSTUNREACH); a vanished
                    // interface gives ENETDOWN or ENODEV until the link watcher replaces the socket. None is fatal.
                    var now = Environment.TickCount64;
                    if (now - lastErrorLog > 10_000)
                    {
                        lastErrorLog = now;
                        _log.LogDebug("{Name}: read: {Error}", _name, Errno.Describe(-n));
                    }
                    if (n is -Errno.ENETDOWN or -Errno.ENODEV or -Errno.EINVAL)
                    {
                        Thread.Sleep(50);
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                // The descriptor was replaced or closed between reading it and using it: take the current one.
            }
        }
    }

    private int ReadInto(FileDescriptor fd, byte[] buffer, ref InboundItem item, bool dropOnly)
    {
        if (!_isSocket)
        {
            return FileSyscalls.Read(fd, buffer);
        }
        if (dropOnly)
        {
            var ignored = default(InetSocketAddress);
            return SocketSyscalls.ReceiveFrom(fd, buffer, ref ignored);
        }
        return _packetInfo ? MessageSyscalls.ReceiveFrom(fd, buffer, ref item.From, ref item.To) : SocketSyscalls.ReceiveFrom(fd, buffer, ref item.From);
    }

    public void Stop() => _stopping = true;

    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(2));
        }
    }
}
