using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace WanBond.Linux.Tests;

/// <summary>
/// Sockets created inside a network namespace: a fresh thread enters the namespace with setns(2), creates the
/// socket, and ends; the socket stays in that namespace. Lets the test move exact, checksummed bytes over TCP
/// between two of its namespaces without any helper program.
/// </summary>
internal static partial class NetnsSockets
{
    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    public static T InNamespace<T>(string ns, Func<T> create)
    {
        T? result = default;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{ns}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns {ns}: errno {Marshal.GetLastPInvokeError()}");
                }
                result = create();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        t.Start();
        t.Join();
        return error is null ? result! : throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
    }

    /// <summary>
    /// Connects from <paramref name="clientNs"/> to a listener in <paramref name="serverNs"/> at <paramref name="serverAddress"/>
    /// and moves <paramref name="bytes"/> pseudo-random bytes one way; returns (sent hash, received hash, received count).
    /// </summary>
    public static (string SentHash, string ReceivedHash, long Received) Transfer(string clientNs, string serverNs, IPAddress serverAddress, long bytes, bool serverSends, TimeSpan timeout)
    {
        using var listener = InNamespace(serverNs, () =>
        {
            var l = new Socket(serverAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            l.Bind(new IPEndPoint(serverAddress, 0));
            l.Listen(1);
            return l;
        });
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var client = InNamespace(clientNs, () => new Socket(serverAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.ReceiveTimeout = client.SendTimeout = (int)timeout.TotalMilliseconds;
        listener.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        var accept = listener.AcceptAsync();
        client.Connect(new IPEndPoint(serverAddress, port));
        if (!accept.Wait(timeout))
        {
            throw new TimeoutException("accept timed out");
        }
        using var server = accept.Result;
        server.ReceiveTimeout = server.SendTimeout = (int)timeout.TotalMilliseconds;
        var (sender, receiver) = serverSends ? (server, client) : (client, server);
        string? sentHash = null;
        var sendThread = new Thread(() => sentHash = Send(sender, bytes));
        sendThread.Start();
        var (receivedHash, received) = Receive(receiver);
        sendThread.Join();
        return (sentHash!, receivedHash, received);
    }

    private static string Send(Socket s, long bytes)
    {
        var rng = new Random(12345);
        var buffer = new byte[64 * 1024];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long left = bytes; left > 0;)
        {
            var n = (int)Math.Min(left, buffer.Length);
            rng.NextBytes(buffer.AsSpan(0, n));
            hash.AppendData(buffer, 0, n);
            for (var off = 0; off < n;)
            {
                off += s.Send(buffer, off, n - off, SocketFlags.None);
            }
            left -= n;
        }
        s.Shutdown(SocketShutdown.Send);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static (string, long) Receive(Socket s)
    {
        var buffer = new byte[64 * 1024];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long total = 0;
        int n;
        while ((n = s.Receive(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }
        return (Convert.ToHexString(hash.GetHashAndReset()), total);
    }
}
