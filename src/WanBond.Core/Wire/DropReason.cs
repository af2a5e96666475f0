namespace WanBond.Core.Wire;

/// <summary>
/// Why an incoming datagram was discarded. Parsers report one of these instead of throwing,
/// so that hostile or corrupted input costs a counter increment and nothing else.
/// </summary>
public enum DropReason
{
    /// <summary>Not dropped.</summary>
    None = 0,

    /// <summary>Shorter than its type's fixed part (any cut-off datagram lands here).</summary>
    Truncated,

    /// <summary>Version nibble is not <see cref="ClearHeader.Version"/>.</summary>
    BadVersion,

    /// <summary>Type nibble is not a known <see cref="PacketType"/>.</summary>
    UnknownType,

    /// <summary>Length disagrees with the frame's encoding (trailing bytes, empty ack).</summary>
    BadLength,

    /// <summary>The payload of a data packet is not an IPv4/IPv6 packet.</summary>
    BadInnerPacket,

    /// <summary>The seal's tag did not verify.</summary>
    AuthenticationFailed,

    /// <summary>No session with this id (or a frame names session id 0).</summary>
    UnknownSession,

    /// <summary>Path id unknown to the session, or a path count of zero.</summary>
    BadPath,

    /// <summary>Already received (replayed packet number, or an ack naming a path twice).</summary>
    Duplicate,

    /// <summary>An ack with more than <see cref="AckFrame.MaxBlocks"/> blocks (or than the caller can hold).</summary>
    TooManyBlocks,

    /// <summary>An ack block with more than <see cref="AckFrame.MaxRanges"/> extra ranges (or than the caller can hold).</summary>
    TooManyRanges,

    /// <summary>An ack range that reaches below packet number 0.</summary>
    BadRange,
}

/// <summary>
/// One counter per <see cref="DropReason"/>. Not thread-safe: each engine owns one, like everything in Core.
/// </summary>
public sealed class DropCounters
{
    private const int ReasonCount = (int)DropReason.BadRange + 1;

    private readonly long[] _counts = new long[ReasonCount];

    /// <summary>Counts one dropped datagram.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reason"/> is <see cref="DropReason.None"/> or undefined: a drop always has a reason.</exception>
    public void Increment(DropReason reason)
    {
        if (reason <= DropReason.None || (int)reason >= ReasonCount)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "A drop needs a defined reason other than None.");
        }

        _counts[(int)reason]++;
    }

    /// <summary>Drops counted for <paramref name="reason"/>; 0 for None or undefined values.</summary>
    public long this[DropReason reason] =>
        reason > DropReason.None && (int)reason < ReasonCount ? _counts[(int)reason] : 0;

    /// <summary>All drops, whatever the reason.</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            for (int i = 1; i < ReasonCount; i++)
            {
                sum += _counts[i];
            }

            return sum;
        }
    }
}
