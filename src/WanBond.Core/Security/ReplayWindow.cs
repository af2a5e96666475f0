using System.Numerics;

namespace WanBond.Core.Security;

/// <summary>
/// Sliding anti-replay window over one counter sequence (RFC 6479): a ring of 64-bit words holding
/// one bit per counter behind the highest counter seen. Accepts each counter at most once, any order
/// within the window, and rejects anything older than the window. Constant time, no allocation after
/// construction.
/// <para>
/// Use it after authentication: <see cref="IsFresh"/> first (cheap, drops obvious replays before
/// decrypting), open the seal, then <see cref="TryAccept"/> to record the counter. Marking before
/// authentication would let a forged packet burn a counter the real packet then cannot use.
/// </para>
/// </summary>
public sealed class ReplayWindow
{
    /// <summary>The smallest window the brief asks for: a multipath receiver reorders a lot.</summary>
    public const int MinimumSize = 8192;

    private readonly ulong[] _ring;
    private readonly int _mask;
    private ulong _top;
    private bool _any;

    /// <param name="size">Counters behind the newest that are still accepted; rounded up so the ring is a power of two words plus slack.</param>
    public ReplayWindow(int size = MinimumSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 64);
        // One spare word: the word holding the top counter is only partly inside the window.
        int words = (int)BitOperations.RoundUpToPowerOf2((uint)(size / 64) + 1);
        _ring = new ulong[words];
        _mask = words - 1;
        Size = (words - 1) * 64;
    }

    /// <summary>The window actually used: counters with <c>newest − counter &lt; Size</c> are still judged by their bit.</summary>
    public int Size { get; }

    /// <summary>The highest counter accepted so far (0 before any).</summary>
    public ulong Newest => _top;

    /// <summary>True when <paramref name="counter"/> has not been accepted and is not too old. Changes nothing.</summary>
    public bool IsFresh(ulong counter)
    {
        if (!_any || counter > _top)
        {
            return true;
        }

        if (_top - counter >= (ulong)Size)
        {
            return false;
        }

        return (_ring[(int)(counter >> 6) & _mask] & (1UL << (int)(counter & 63))) == 0;
    }

    /// <summary>Records <paramref name="counter"/> if it is fresh.</summary>
    /// <returns>False for a replay or a counter older than the window (nothing changes then).</returns>
    public bool TryAccept(ulong counter)
    {
        if (!IsFresh(counter))
        {
            return false;
        }

        if (!_any || counter > _top)
        {
            if (_any)
            {
                // Words the window slides onto last held counters a full ring ago: clear them.
                ulong current = _top >> 6;
                ulong advance = Math.Min((counter >> 6) - current, (ulong)_ring.Length);
                for (ulong i = 1; i <= advance; i++)
                {
                    _ring[(int)((current + i) & (ulong)_mask)] = 0;
                }
            }

            _top = counter;
            _any = true;
        }

        _ring[(int)(counter >> 6) & _mask] |= 1UL << (int)(counter & 63);
        return true;
    }
}
