using System.Buffers.Binary;
using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class AckFrameTests
{
    private const int MaxRangesTotal = AckFrame.MaxBlocks * (1 + AckFrame.MaxRanges);

    private static (AckBlock[] Blocks, AckRange[] Ranges, DropReason Reason) Parse(ReadOnlySpan<byte> plain)
    {
        var blocks = new AckBlock[AckFrame.MaxBlocks];
        var ranges = new AckRange[MaxRangesTotal];
        bool ok = AckFrame.TryParse(plain, blocks, ranges, out int blockCount, out int rangeCount, out var reason);
        Assert.Equal(ok, reason == DropReason.None);
        if (!ok)
        {
            Assert.Equal(0, blockCount);
            Assert.Equal(0, rangeCount);
        }

        return (blocks[..blockCount], ranges[..rangeCount], reason);
    }

    private static byte[] Encode(AckBlock[] blocks, AckRange[] ranges)
    {
        var plain = new byte[AckFrame.MaxSize];
        int length = AckFrame.Write(plain, blocks, ranges);
        return plain[..length];
    }

    private static AckBlock OneBlock(byte path, int rangeCount, long delayUs = 0, uint rxTime = 0) =>
        new() { PathId = path, AckDelayUs = delayUs, RxTimeLargestUs = rxTime, RangeStart = 0, RangeCount = rangeCount };

    /// <summary>Raw block bytes, for inputs no writer would produce.</summary>
    private static byte[] RawBlock(byte path, ulong largest, ushort firstRange, params (ushort Gap, ushort Length)[] extra)
    {
        var bytes = new byte[AckFrame.BlockHeaderSize + (extra.Length * AckFrame.RangeSize)];
        bytes[0] = path;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(1), (ushort)(largest >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(3), (uint)largest);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(13), firstRange);
        bytes[15] = (byte)extra.Length;
        for (int i = 0; i < extra.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(16 + (4 * i)), extra[i].Gap);
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(18 + (4 * i)), extra[i].Length);
        }

        return bytes;
    }

    private static byte[] RawAck(params byte[][] blocks) => [(byte)blocks.Length, .. blocks.SelectMany(b => b)];

    [Fact]
    public void Write_produces_the_documented_bytes()
    {
        // Path 2 received 95..100 and 90..92: gap = 95 − 92 − 2 = 1, length = 2.
        AckRange[] ranges = [new(95, 100), new(90, 92)];
        var bytes = Encode([OneBlock(2, 2, delayUs: 800, rxTime: 0x01020304)], ranges);

        byte[] expected =
        [
            1, // blockCount
            2, // pathId
            0, 0, 0, 0, 0, 100, // largest
            0, 100, // ackDelay: 800 µs / 8
            1, 2, 3, 4, // rxTimeLargest
            0, 5, // firstRange: 100 − 95
            1, // rangeCount
            0, 1, 0, 2, // gap, length
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Round_trips_any_encodable_ack()
    {
        WireGen.Ack.Sample(ack =>
        {
            var bytes = Encode(ack.Blocks, ack.Ranges);
            int maxRanges = 0;
            foreach (var b in ack.Blocks)
            {
                maxRanges = Math.Max(maxRanges, b.RangeCount);
            }

            Assert.True(bytes.Length <= AckFrame.MaxEncodedSize(ack.Blocks.Length, maxRanges));
            var (blocks, ranges, reason) = Parse(bytes);

            Assert.Equal(DropReason.None, reason);
            Assert.Equal(ack.Ranges, ranges);
            Assert.Equal(ack.Blocks, blocks);
        });
    }

    [Fact]
    public void Writer_never_acknowledges_a_packet_that_was_not_received()
    {
        // Arbitrary received sets, including runs and gaps far beyond what 16 bits express.
        var step = Gen.OneOf<ulong>(Gen.ULong[0, 5], Gen.ULong[0, 70_000], Gen.ULong[65_530, 65_540]);
        var rangesGen = Gen.Select(WireGen.PacketNumber, Gen.Select(step, step).Array[1, 50], (largest, steps) =>
        {
            var list = new List<AckRange>();
            ulong top = largest;
            foreach (var (span, gap) in steps)
            {
                if (span > top)
                {
                    list.Add(new AckRange(0, top));
                    break;
                }

                list.Add(new AckRange(top - span, top));
                if (top - span < gap + 2)
                {
                    break;
                }

                top = top - span - gap - 2;
            }

            return list.ToArray();
        });

        rangesGen.Sample(input =>
        {
            var (_, parsed, reason) = Parse(Encode([OneBlock(0, input.Length)], input));

            Assert.Equal(DropReason.None, reason);
            Assert.InRange(parsed.Length, 1, 1 + AckFrame.MaxRanges);
            Assert.Equal(input[0].Largest, parsed[0].Largest);
            foreach (var r in parsed)
            {
                Assert.Contains(input, i => i.Smallest <= r.Smallest && r.Largest <= i.Largest);
            }
        });
    }

    [Fact]
    public void A_run_wider_than_16_bits_is_clamped_to_its_newest_packets_and_older_ranges_dropped()
    {
        AckRange[] ranges = [new(1_000, 200_000), new(10, 20)];

        var (_, parsed, _) = Parse(Encode([OneBlock(0, 2)], ranges));

        Assert.Equal([new AckRange(200_000 - 65_535, 200_000)], parsed);
    }

    [Fact]
    public void An_older_range_wider_than_16_bits_is_clamped_and_ends_the_block()
    {
        // The third range would be encodable after the clamped one, but its gap would claim
        // 199_991 .. 233_464 as missing although they were received.
        AckRange[] ranges = [new(300_000, 300_010), new(200_000, 299_000), new(190_000, 199_990)];

        var (_, parsed, _) = Parse(Encode([OneBlock(0, 3)], ranges));

        Assert.Equal([new AckRange(300_000, 300_010), new AckRange(299_000 - 65_535, 299_000)], parsed);
    }

    [Fact]
    public void Ranges_behind_a_gap_wider_than_16_bits_are_left_out()
    {
        AckRange[] ranges = [new(200_000, 200_010), new(199_000, 199_100), new(10, 20)];

        var (_, parsed, _) = Parse(Encode([OneBlock(0, 3)], ranges));

        Assert.Equal([new AckRange(200_000, 200_010), new AckRange(199_000, 199_100)], parsed);
    }

    [Fact]
    public void Only_the_newest_ranges_are_kept_when_there_are_too_many()
    {
        var ranges = new AckRange[50];
        for (int i = 0; i < ranges.Length; i++)
        {
            ulong largest = 1_000 - (ulong)(3 * i);
            ranges[i] = new AckRange(largest - 1, largest);
        }

        var (blocks, parsed, _) = Parse(Encode([OneBlock(0, ranges.Length)], ranges));

        Assert.Equal(1 + AckFrame.MaxRanges, blocks[0].RangeCount);
        Assert.Equal(ranges[..(1 + AckFrame.MaxRanges)], parsed);
    }

    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(-5L, 0L)]
    [InlineData(15L, 8L)]
    [InlineData(65_535L * 8, 65_535L * 8)]
    [InlineData(10_000_000L, 65_535L * 8)]
    public void Ack_delay_has_8_microsecond_units_and_saturates(long delayUs, long decodedUs)
    {
        var (blocks, _, _) = Parse(Encode([OneBlock(0, 1, delayUs)], [new AckRange(5, 5)]));

        Assert.Equal(decodedUs, blocks[0].AckDelayUs);
    }

    [Fact]
    public void Max_sizes_agree()
    {
        Assert.Equal(AckFrame.MaxSize, AckFrame.MaxEncodedSize(AckFrame.MaxBlocks, 1 + AckFrame.MaxRanges));
        Assert.Equal(AckFrame.MaxSize, AckFrame.MaxEncodedSize(AckFrame.MaxBlocks, 1000));
        Assert.Equal(1 + AckFrame.BlockHeaderSize, AckFrame.MaxEncodedSize(1, 1));
    }

    [Fact]
    public void Every_truncation_is_rejected_as_truncated()
    {
        WireGen.Ack.Sample(ack =>
        {
            var bytes = Encode(ack.Blocks, ack.Ranges);
            for (int length = 0; length < bytes.Length; length++)
            {
                Assert.Equal(DropReason.Truncated, Parse(bytes.AsSpan(0, length)).Reason);
            }
        }, iter: 30);
    }

    [Fact]
    public void Trailing_bytes_are_a_bad_length()
    {
        var bytes = Encode([OneBlock(0, 1)], [new AckRange(1, 2)]);

        Assert.Equal(DropReason.BadLength, Parse([.. bytes, 0]).Reason);
    }

    [Fact]
    public void An_ack_without_blocks_is_a_bad_length()
    {
        Assert.Equal(DropReason.BadLength, Parse([0]).Reason);
    }

    [Fact]
    public void More_blocks_than_allowed_are_rejected()
    {
        var blocks = new byte[AckFrame.MaxBlocks + 1][];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = RawBlock((byte)i, 10, 0);
        }

        Assert.Equal(DropReason.TooManyBlocks, Parse(RawAck(blocks)).Reason);
        Assert.Equal(DropReason.None, Parse(RawAck(blocks[..AckFrame.MaxBlocks])).Reason);
    }

    [Fact]
    public void More_blocks_than_the_caller_can_hold_are_rejected()
    {
        var bytes = RawAck(RawBlock(0, 10, 0), RawBlock(1, 10, 0));

        bool ok = AckFrame.TryParse(bytes, new AckBlock[1], new AckRange[MaxRangesTotal], out _, out _, out var reason);

        Assert.False(ok);
        Assert.Equal(DropReason.TooManyBlocks, reason);
    }

    [Fact]
    public void More_ranges_than_allowed_are_rejected()
    {
        var extra = new (ushort, ushort)[AckFrame.MaxRanges + 1];

        Assert.Equal(DropReason.TooManyRanges, Parse(RawAck(RawBlock(0, 1_000_000, 0, extra))).Reason);
        Assert.Equal(DropReason.None, Parse(RawAck(RawBlock(0, 1_000_000, 0, extra[..AckFrame.MaxRanges]))).Reason);
    }

    [Fact]
    public void More_ranges_than_the_caller_can_hold_are_rejected()
    {
        var bytes = RawAck(RawBlock(0, 100, 0, (0, 0)));

        bool ok = AckFrame.TryParse(bytes, new AckBlock[1], new AckRange[1], out _, out _, out var reason);

        Assert.False(ok);
        Assert.Equal(DropReason.TooManyRanges, reason);
    }

    [Theory]
    [InlineData(10UL, 11, 0, 0)] // firstRange reaches below 0
    [InlineData(10UL, 10, 0, 0)] // first range ends at 0: no room for a gap
    [InlineData(10UL, 5, 4, 0)] // next largest = 5 − 4 − 2 < 0
    [InlineData(10UL, 5, 1, 3)] // next largest = 2, smallest = 2 − 3 < 0
    public void Ranges_below_zero_are_rejected(ulong largest, int firstRange, int gap, int length)
    {
        var bytes = RawAck(RawBlock(0, largest, (ushort)firstRange, ((ushort)gap, (ushort)length)));

        Assert.Equal(DropReason.BadRange, Parse(bytes).Reason);
    }

    [Fact]
    public void A_range_ending_exactly_at_zero_is_accepted()
    {
        var (_, ranges, reason) = Parse(RawAck(RawBlock(0, 10, 5, (1, 2))));

        Assert.Equal(DropReason.None, reason);
        Assert.Equal([new AckRange(5, 10), new AckRange(0, 2)], ranges);
    }

    [Fact]
    public void A_path_named_twice_is_rejected()
    {
        Assert.Equal(DropReason.Duplicate, Parse(RawAck(RawBlock(3, 10, 0), RawBlock(3, 20, 0))).Reason);
    }

    [Fact]
    public void Writer_rejects_programmer_errors()
    {
        var dest = new byte[AckFrame.MaxSize];
        AckRange[] one = [new(1, 2)];

        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [], one));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, new AckBlock[AckFrame.MaxBlocks + 1], one));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 0)], one));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 2)], one));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 1)], [new AckRange(3, 2)]));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 2)], [new AckRange(1, 2), new AckRange(5, 6)]));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 2)], [new AckRange(5, 6), new AckRange(3, 4)]));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 2)], [new AckRange(5, 6), new AckRange(4, 5)]));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 1), OneBlock(0, 1)], one));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(dest, [OneBlock(0, 1)], [new AckRange(0, ClearHeader.MaxPacketNumber + 1)]));
        Assert.Throws<ArgumentException>(() => AckFrame.Write(new byte[AckFrame.BlockHeaderSize], [OneBlock(0, 1)], one));
    }
}
