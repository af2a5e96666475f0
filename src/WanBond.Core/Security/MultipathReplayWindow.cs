namespace WanBond.Core.Security;

/// <summary>
/// Anti-replay for one receive key across all paths. The seal's nonce is <c>pathId &lt;&lt; 48 | packetNumber</c>
/// and packet numbers are per path, so a single window over the 64-bit nonce would be useless: path 1's
/// nonces are all 2^48 above path 0's, and the first packet from path 1 would push every path-0 packet
/// out of the window. Instead there is one <see cref="ReplayWindow"/> per path id, so reordering between
/// paths, however large, can never cause a false replay; each path only has to keep its own packets
/// within the window, which its congestion window guarantees by a wide margin.
/// </summary>
public sealed class MultipathReplayWindow
{
    private const int PacketNumberBits = 48;
    private const ulong PacketNumberMask = (1UL << PacketNumberBits) - 1;

    private readonly ReplayWindow[] _paths;

    /// <param name="pathCount">Path ids 0 .. pathCount − 1 are valid (as agreed in the handshake).</param>
    /// <param name="windowSize">Per-path window, at least <see cref="ReplayWindow.MinimumSize"/>.</param>
    public MultipathReplayWindow(int pathCount, int windowSize = ReplayWindow.MinimumSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pathCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pathCount, 256);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSize, ReplayWindow.MinimumSize);
        _paths = new ReplayWindow[pathCount];
        for (int i = 0; i < pathCount; i++)
        {
            _paths[i] = new ReplayWindow(windowSize);
        }
    }

    public int PathCount => _paths.Length;

    /// <summary>The per-path window actually used.</summary>
    public int WindowSize => _paths[0].Size;

    /// <summary>False for a path id outside the session, a replay, or a packet older than its path's window.</summary>
    public bool IsFresh(ulong nonce)
    {
        ulong path = nonce >> PacketNumberBits;
        return path < (ulong)_paths.Length && _paths[path].IsFresh(nonce & PacketNumberMask);
    }

    /// <summary>Records the nonce if fresh (call only after the seal opened).</summary>
    public bool TryAccept(ulong nonce)
    {
        ulong path = nonce >> PacketNumberBits;
        return path < (ulong)_paths.Length && _paths[path].TryAccept(nonce & PacketNumberMask);
    }
}
