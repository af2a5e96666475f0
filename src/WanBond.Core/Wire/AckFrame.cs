using System.Buffers.Binary;

namespace WanBond.Core.Wire;

/// <summary>Packet numbers <see cref="Smallest"/> .. <see cref="Largest"/> (inclusive) of one path were all received.</summary>
public readonly record struct AckRange(ulong Smallest, ulong Largest);

/// <summary>
/// The acknowledgement of one path inside an <see cref="AckFrame"/>. Its ranges live in a span
/// shared by all blocks — <c>ranges[RangeStart .. RangeStart + RangeCount)</c>, descending, the first
/// containing the largest packet number received — so that parsing allocates nothing.
/// Auto-properties rather than fields only to satisfy CA1051; they are as cheap.
/// </summary>
public struct AckBlock
{
    public byte PathId { get; set; }

    /// <summary>Time between receiving the largest packet and sending the ack, µs (8 µs resolution on the wire).</summary>
    public long AckDelayUs { get; set; }

    /// <summary>The ack sender's clock when it received the largest packet, µs, wrapping: only differences mean anything.</summary>
    public uint RxTimeLargestUs { get; set; }

    public int RangeStart { get; set; }

    /// <summary>At least 1.</summary>
    public int RangeCount { get; set; }
}

/// <summary>
/// Sealed payload of a <see cref="PacketType.Ack"/> packet: selective acknowledgements of one or
/// more paths, in QUIC's range encoding.
/// <code>
/// u8 blockCount                       1 .. MaxBlocks
/// per block:
///   u8  pathId
///   u48 largest
///   u16 ackDelay                      8 µs units, saturating
///   u32 rxTimeLargest                 µs, receiver's clock, wrapping
///   u16 firstRange                    largest − firstRange .. largest received
///   u8  rangeCount                    0 .. MaxRanges
///   rangeCount × (u16 gap, u16 length)
///       largest = previous smallest − gap − 2; smallest = largest − length
/// </code>
/// </summary>
public static class AckFrame
{
    public const int MaxBlocks = 8;

    /// <summary>Ranges after the first, per block.</summary>
    public const int MaxRanges = 32;

    /// <summary>Encoded size of a block without its extra ranges.</summary>
    public const int BlockHeaderSize = 16;

    public const int RangeSize = 4;

    /// <summary>Largest possible ack payload (1153 bytes): fits any datagram the engine sends.</summary>
    public const int MaxSize = 1 + (MaxBlocks * (BlockHeaderSize + (MaxRanges * RangeSize)));

    /// <summary>Resolution of the ack delay on the wire.</summary>
    public const int AckDelayUnitUs = 8;

    /// <summary>Widest range the 16-bit fields express: 65536 packets (largest − smallest ≤ 65535).</summary>
    private const ulong MaxRangeSpan = ushort.MaxValue;

    /// <summary>Upper bound of the encoding of <paramref name="blocks"/> blocks with up to <paramref name="rangesPerBlock"/> ranges each (first range included).</summary>
    public static int MaxEncodedSize(int blocks, int rangesPerBlock)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blocks, MaxBlocks);
        ArgumentOutOfRangeException.ThrowIfLessThan(rangesPerBlock, 1);
        int extra = Math.Min(rangesPerBlock - 1, MaxRanges);
        return 1 + (blocks * (BlockHeaderSize + (extra * RangeSize)));
    }

    /// <summary>
    /// Encodes <paramref name="blocks"/>; each block's ranges are absolute, descending,
    /// non-overlapping and non-adjacent (adjacent runs must be merged by the caller).
    /// What does not fit the encoding is left out, oldest first, so an ack only ever claims
    /// packets that were received:
    /// ranges beyond the first 1 + <see cref="MaxRanges"/>; ranges after a gap wider than 65535;
    /// and a range wider than 65536 packets is clamped to its newest 65536, the ranges after it dropped
    /// (packets that far behind are declared lost by the sender's packet threshold anyway).
    /// </summary>
    /// <returns>Bytes written; at most <see cref="MaxEncodedSize"/>.</returns>
    /// <exception cref="ArgumentException">Programmer error: no blocks or too many, a block without ranges,
    /// ranges out of order, overlapping or adjacent, a path named twice, or a destination too short.</exception>
    public static int Write(Span<byte> plain, ReadOnlySpan<AckBlock> blocks, ReadOnlySpan<AckRange> ranges)
    {
        if (blocks.IsEmpty || blocks.Length > MaxBlocks)
        {
            throw new ArgumentException($"An ack carries 1..{MaxBlocks} blocks.", nameof(blocks));
        }

        EnsureRoom(plain, 1);
        plain[0] = (byte)blocks.Length;
        int pos = 1;
        for (int b = 0; b < blocks.Length; b++)
        {
            ref readonly var block = ref blocks[b];
            for (int other = 0; other < b; other++)
            {
                if (blocks[other].PathId == block.PathId)
                {
                    throw new ArgumentException($"Path {block.PathId} has two blocks.", nameof(blocks));
                }
            }

            if (block.RangeCount < 1 || block.RangeStart < 0 || block.RangeStart > ranges.Length - block.RangeCount)
            {
                throw new ArgumentException($"Block for path {block.PathId} has no ranges or they lie outside the span.", nameof(blocks));
            }

            var own = ranges.Slice(block.RangeStart, block.RangeCount);
            ValidateRanges(own);
            pos += WriteBlock(plain[pos..], in block, own);
        }

        return pos;
    }

    /// <summary>
    /// Parses an ack into caller-provided spans (give <see cref="MaxBlocks"/> blocks and
    /// <c>MaxBlocks × (1 + MaxRanges)</c> ranges to accept everything the format allows; smaller
    /// spans are limits and reject larger acks as <see cref="DropReason.TooManyBlocks"/> /
    /// <see cref="DropReason.TooManyRanges"/>). Never throws.
    /// </summary>
    public static bool TryParse(
        ReadOnlySpan<byte> plain, Span<AckBlock> blocks, Span<AckRange> ranges,
        out int blockCount, out int rangeCount, out DropReason reason)
    {
        blockCount = 0;
        rangeCount = 0;
        if (plain.IsEmpty)
        {
            reason = DropReason.Truncated;
            return false;
        }

        int count = plain[0];
        if (count == 0)
        {
            reason = DropReason.BadLength; // an ack of nothing: not a frame any writer produces
            return false;
        }

        if (count > MaxBlocks || count > blocks.Length)
        {
            reason = DropReason.TooManyBlocks;
            return false;
        }

        int pos = 1;
        int used = 0;
        for (int b = 0; b < count; b++)
        {
            if (plain.Length - pos < BlockHeaderSize)
            {
                reason = DropReason.Truncated;
                return false;
            }

            var p = plain[pos..];
            byte pathId = p[0];
            ulong largest = WireInt.ReadUInt48(p[1..]);
            ushort ackDelay = BinaryPrimitives.ReadUInt16BigEndian(p[7..]);
            uint rxTime = BinaryPrimitives.ReadUInt32BigEndian(p[9..]);
            ushort firstRange = BinaryPrimitives.ReadUInt16BigEndian(p[13..]);
            int extra = p[15];
            pos += BlockHeaderSize;

            for (int other = 0; other < b; other++)
            {
                if (blocks[other].PathId == pathId)
                {
                    reason = DropReason.Duplicate;
                    return false;
                }
            }

            if (extra > MaxRanges || used + 1 + extra > ranges.Length)
            {
                reason = DropReason.TooManyRanges;
                return false;
            }

            if (plain.Length - pos < extra * RangeSize)
            {
                reason = DropReason.Truncated;
                return false;
            }

            if (firstRange > largest)
            {
                reason = DropReason.BadRange;
                return false;
            }

            int start = used;
            ulong smallest = largest - firstRange;
            ranges[used++] = new AckRange(smallest, largest);
            for (int r = 0; r < extra; r++, pos += RangeSize)
            {
                ulong gap = BinaryPrimitives.ReadUInt16BigEndian(plain[pos..]);
                ulong length = BinaryPrimitives.ReadUInt16BigEndian(plain[(pos + 2)..]);
                // smallest − gap − 2 − length must stay ≥ 0; compare by adding, so nothing underflows.
                if (gap + 2 > smallest || gap + 2 + length > smallest)
                {
                    reason = DropReason.BadRange;
                    return false;
                }

                ulong rangeLargest = smallest - gap - 2;
                smallest = rangeLargest - length;
                ranges[used++] = new AckRange(smallest, rangeLargest);
            }

            blocks[b] = new AckBlock
            {
                PathId = pathId,
                AckDelayUs = (long)ackDelay * AckDelayUnitUs,
                RxTimeLargestUs = rxTime,
                RangeStart = start,
                RangeCount = used - start,
            };
        }

        if (pos != plain.Length)
        {
            reason = DropReason.BadLength;
            return false;
        }

        blockCount = count;
        rangeCount = used;
        reason = DropReason.None;
        return true;
    }

    private static int WriteBlock(Span<byte> plain, in AckBlock block, ReadOnlySpan<AckRange> own)
    {
        EnsureRoom(plain, BlockHeaderSize);
        var first = own[0];
        ulong firstSpan = Math.Min(first.Largest - first.Smallest, MaxRangeSpan);
        bool clamped = firstSpan < first.Largest - first.Smallest;
        ulong smallest = first.Largest - firstSpan;

        plain[0] = block.PathId;
        WireInt.WriteUInt48(plain[1..], first.Largest);
        BinaryPrimitives.WriteUInt16BigEndian(plain[7..], EncodeAckDelay(block.AckDelayUs));
        BinaryPrimitives.WriteUInt32BigEndian(plain[9..], block.RxTimeLargestUs);
        BinaryPrimitives.WriteUInt16BigEndian(plain[13..], (ushort)firstSpan);

        int pos = BlockHeaderSize;
        int extra = 0;
        for (int r = 1; r < own.Length && extra < MaxRanges && !clamped; r++)
        {
            var range = own[r];
            ulong gap = smallest - range.Largest - 2;
            if (gap > MaxRangeSpan)
            {
                break; // older ranges sit even further back: none of them is expressible
            }

            ulong span = range.Largest - range.Smallest;
            if (span > MaxRangeSpan)
            {
                span = MaxRangeSpan;
                clamped = true; // a gap after a clamped range would claim the cut-off packets as missing
            }

            EnsureRoom(plain[pos..], RangeSize);
            BinaryPrimitives.WriteUInt16BigEndian(plain[pos..], (ushort)gap);
            BinaryPrimitives.WriteUInt16BigEndian(plain[(pos + 2)..], (ushort)span);
            pos += RangeSize;
            smallest = range.Largest - span;
            extra++;
        }

        plain[15] = (byte)extra;
        return pos;
    }

    private static ushort EncodeAckDelay(long delayUs) =>
        delayUs <= 0 ? (ushort)0 : (ushort)Math.Min(delayUs / AckDelayUnitUs, ushort.MaxValue);

    private static void ValidateRanges(ReadOnlySpan<AckRange> own)
    {
        for (int r = 0; r < own.Length; r++)
        {
            var range = own[r];
            if (range.Smallest > range.Largest || range.Largest > ClearHeader.MaxPacketNumber)
            {
                throw new ArgumentException($"Ack range {range} is empty or exceeds 48 bits.", nameof(own));
            }

            // Strictly below the previous range with at least one missing packet between: gap ≥ 0 on the wire.
            if (r > 0 && range.Largest + 2 > own[r - 1].Smallest)
            {
                throw new ArgumentException($"Ack ranges {own[r - 1]} and {range} are not descending and separated.", nameof(own));
            }
        }
    }

    private static void EnsureRoom(Span<byte> plain, int size)
    {
        if (plain.Length < size)
        {
            throw new ArgumentException("Destination is too short for the ack; size it with MaxEncodedSize.", nameof(plain));
        }
    }
}
