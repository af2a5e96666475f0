namespace WanBond.Core.Wire;

/// <summary>
/// Widening of truncated sequence numbers, as QUIC does for packet numbers (RFC 9000, appendix A.3).
/// </summary>
/// <remarks>
/// Only the global sequence needs this: per-path packet numbers are carried in full (48 bits,
/// never wrapping, 8.9 years at a million packets per second), so there is no ExpandPacketNumber.
/// </remarks>
public static class SequenceNumbers
{
    private const long GseqWindow = 1L << 32;
    private const long GseqHalfWindow = GseqWindow / 2;
    private const long GseqMask = GseqWindow - 1;

    /// <summary>Largest value <see cref="ExpandGseq"/> returns; keeps the arithmetic far from overflow.</summary>
    public const long MaxExpandedGseq = (1L << 62) - 1;

    /// <summary>
    /// The non-negative 64-bit sequence number whose low 32 bits are <paramref name="truncated"/> and
    /// which is closest to <paramref name="expectedNext"/> (the next gseq the receiver expects).
    /// Exact for every true value in <c>(expectedNext − 2^31, expectedNext + 2^31]</c>, across wraps.
    /// </summary>
    public static long ExpandGseq(uint truncated, long expectedNext)
    {
        long candidate = (expectedNext & ~GseqMask) | truncated;
        if (candidate <= expectedNext - GseqHalfWindow && candidate <= MaxExpandedGseq - GseqWindow)
        {
            return candidate + GseqWindow;
        }

        if (candidate > expectedNext + GseqHalfWindow && candidate >= GseqWindow)
        {
            return candidate - GseqWindow;
        }

        return candidate;
    }
}
