using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace WanBond.Linux.Control;

/// <summary>
/// The local control socket `wanbond status` reads: a Unix stream socket in a directory only root can enter
/// (0700) and itself mode 0600. One request line ("status"), one JSON answer, then the connection closes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ControlServer : IAsyncDisposable
{
    private readonly string _path;
    private readonly Func<StatusReport?> _status;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task? _loop;

    public ControlServer(string path, Func<StatusReport?> status, ILogger log)
    {
        _path = path;
        _status = status;
        _log = log;
    }

    public void Start()
    {
        var dir = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (File.Exists(_path))
        {
            File.Delete(_path); // left by a crashed daemon
        }
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(_path));
        File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(8);
        _loop = Task.Run(AcceptLoop);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(Socket client)
    {
        using (client)
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                var buffer = new byte[256];
                var n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false);
                var request = Encoding.ASCII.GetString(buffer, 0, n).Trim();
                byte[] answer;
                if (request == "status")
                {
                    var status = _status() ?? new StatusReport { Role = "starting" };
                    answer = JsonSerializer.SerializeToUtf8Bytes(status, StatusJsonContext.Default.StatusReport);
                }
                else
                {
                    answer = Encoding.UTF8.GetBytes("{\"error\":\"unknown request\"}");
                }
                await client.SendAsync(answer, SocketFlags.None, cts.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                _log.LogDebug("control client: {Error}", e.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
        _stop.Dispose();
    }
}

/// <summary>Asks a daemon for its status over its control socket.</summary>
public static class ControlClient
{
    /// <exception cref="SocketException">No daemon listens there, or access is denied.</exception>
    public static async Task<StatusReport> QueryAsync(string path, CancellationToken cancel)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancel).ConfigureAwait(false);
        await socket.SendAsync("status\n"u8.ToArray(), SocketFlags.None, cancel).ConfigureAwait(false);
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel).ConfigureAwait(false)) > 0)
        {
            ms.Write(buffer, 0, n);
        }
        return JsonSerializer.Deserialize(ms.ToArray(), StatusJsonContext.Default.StatusReport)
            ?? throw new InvalidDataException("empty answer");
    }
}
