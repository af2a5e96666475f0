using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>A writer that may hold what it was given until <see cref="Flush"/> (to coalesce or batch it).</summary>
public interface IBatchedWriter
{
    void Flush();
}

/// <summary>
/// The engine thread's write batch: while it is open (around each round's <c>Tick</c>), writers such as
/// <see cref="TunDevice"/> may keep packets back to merge them, and the engine loop flushes every writer
/// that did when the round ends. Outside a batch (any other thread, tests) writers write at once.
/// Datagrams sent on sockets during the round go into the thread's <see cref="UdpGsoBatch"/> and leave
/// as UDP GSO runs when it closes. Per thread; no allocation per packet.
/// </summary>
public static class WriteBatch
{
    [ThreadStatic]
    private static bool t_open;

    [ThreadStatic]
    private static List<IBatchedWriter>? t_pending;

    [ThreadStatic]
    private static UdpGsoBatch? t_datagrams;

    /// <summary>This thread's datagram batch (counters), created by the first <see cref="Open"/>.</summary>
    public static UdpGsoBatch? Datagrams => t_datagrams;

    /// <summary>True on the engine thread between <see cref="Open"/> and <see cref="Close"/>.</summary>
    public static bool IsOpen => t_open;

    public static void Open()
    {
        t_pending ??= new List<IBatchedWriter>(8);
        t_datagrams ??= new UdpGsoBatch();
        WriteBatchHook.Batch = t_datagrams;
        t_open = true;
    }

    /// <summary>A writer holds data: flush it when the batch closes. Only while <see cref="IsOpen"/>.</summary>
    public static void Enlist(IBatchedWriter writer)
    {
        var pending = t_pending!;
        if (!pending.Contains(writer))
        {
            pending.Add(writer);
        }
    }

    /// <summary>Flushes every enlisted writer and closes the batch.</summary>
    public static void Close()
    {
        t_open = false;
        WriteBatchHook.Batch = null;
        t_datagrams?.Flush();
        var pending = t_pending;
        if (pending is null)
        {
            return;
        }
        for (var i = 0; i < pending.Count; i++)
        {
            pending[i].Flush();
        }
        pending.Clear();
    }
}
