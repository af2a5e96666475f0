namespace WanBond.Core.Buffers;

/// <summary>
/// A free list of <see cref="PacketBuffer"/>s. Not thread-safe: each engine owns one.
/// Buffers are allocated on demand and kept for reuse, so a steady state allocates nothing.
/// </summary>
public sealed class PacketPool
{
    private PacketBuffer? _free;

    /// <summary>Buffers created so far (a steady-state workload stops increasing this).</summary>
    public int Created { get; private set; }

    /// <summary>Buffers currently rented out.</summary>
    public int Outstanding { get; private set; }

    public PacketBuffer Rent()
    {
        Outstanding++;
        var b = _free;
        if (b is null)
        {
            Created++;
            return new PacketBuffer();
        }
        _free = b.NextFree;
        b.NextFree = null;
        return b;
    }

    public PacketBuffer Rent(ReadOnlySpan<byte> content)
    {
        if (content.Length > PacketBuffer.Capacity)
        {
            throw new ArgumentException($"packet of {content.Length} bytes exceeds {PacketBuffer.Capacity}", nameof(content));
        }
        var b = Rent();
        content.CopyTo(b.Data);
        b.Length = content.Length;
        return b;
    }

    public void Return(PacketBuffer buffer)
    {
        Outstanding--;
        buffer.Reset();
        buffer.NextFree = _free;
        _free = buffer;
    }
}
