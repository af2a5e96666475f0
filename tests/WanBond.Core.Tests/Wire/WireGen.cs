using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

/// <summary>Generators shared by the wire tests, biased towards the edges where encodings break.</summary>
internal static class WireGen
{
    public static readonly Gen<ulong> PacketNumber = Gen.OneOf<ulong>(
        Gen.ULong[0, ClearHeader.MaxPacketNumber],
        Gen.ULong[0, 300],
        Gen.ULong[ClearHeader.MaxPacketNumber - 300, ClearHeader.MaxPacketNumber],
        Gen.ULong[uint.MaxValue - 300UL, uint.MaxValue + 300UL]);

    public static readonly Gen<uint> UInt32 = Gen.OneOf<uint>(
        Gen.UInt,
        Gen.UInt[0, 300],
        Gen.UInt[uint.MaxValue - 300, uint.MaxValue]);

    public static readonly Gen<PacketType> Type = Gen.OneOf(
        PacketType.Data, PacketType.DataExpress, PacketType.DataExpressOnPath, PacketType.Ack, PacketType.Probe, PacketType.Hello, PacketType.HelloReply,
        PacketType.Close, PacketType.HandshakeInitiation, PacketType.HandshakeResponse, PacketType.CookieReply);

    public static readonly Gen<ClearHeader> Header =
        Gen.Select(Type, UInt32, Gen.Byte, PacketNumber, (t, s, p, n) => new ClearHeader(t, s, p, n));

    /// <summary>An ack block's ranges that the encoding carries exactly (gaps and spans within u16, ≤ 1 + MaxRanges).</summary>
    public static readonly Gen<AckRange[]> EncodableRanges =
        Gen.Select(
            PacketNumber,
            Gen.OneOf<ushort>(Gen.UShort, Gen.UShort[0, 3]),
            Gen.Select(Gen.OneOf<ushort>(Gen.UShort, Gen.UShort[0, 3]), Gen.OneOf<ushort>(Gen.UShort, Gen.UShort[0, 3])).Array[0, AckFrame.MaxRanges],
            BuildRanges);

    /// <summary>A full ack: 1..MaxBlocks blocks with distinct paths.</summary>
    public static readonly Gen<(AckBlock[] Blocks, AckRange[] Ranges)> Ack =
        Gen.Select(
            Gen.Byte.ArrayUnique[1, AckFrame.MaxBlocks],
            Gen.Select(Gen.Long[0, ushort.MaxValue], UInt32, EncodableRanges).Array[AckFrame.MaxBlocks],
            (paths, perBlock) =>
            {
                var blocks = new AckBlock[paths.Length];
                var ranges = new List<AckRange>();
                for (int i = 0; i < paths.Length; i++)
                {
                    var (delayUnits, rxTime, own) = perBlock[i];
                    blocks[i] = new AckBlock
                    {
                        PathId = paths[i],
                        AckDelayUs = delayUnits * AckFrame.AckDelayUnitUs,
                        RxTimeLargestUs = rxTime,
                        RangeStart = ranges.Count,
                        RangeCount = own.Length,
                    };
                    ranges.AddRange(own);
                }

                return (blocks, ranges.ToArray());
            });

    /// <summary>Applies the wire's range arithmetic to build absolute ranges, stopping before an underflow.</summary>
    private static AckRange[] BuildRanges(ulong largest, ushort firstRange, (ushort Gap, ushort Length)[] extra)
    {
        ulong first = Math.Min(firstRange, largest);
        var list = new List<AckRange> { new(largest - first, largest) };
        ulong smallest = largest - first;
        foreach (var (gap, length) in extra)
        {
            if ((ulong)gap + 2 + length > smallest)
            {
                break;
            }

            ulong rangeLargest = smallest - gap - 2;
            smallest = rangeLargest - length;
            list.Add(new AckRange(smallest, rangeLargest));
        }

        return list.ToArray();
    }
}
