using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class DataFrameTests
{
    [Fact]
    public void Data_overhead_is_32_bytes()
    {
        Assert.Equal(32, ClearHeader.Size + DataFrame.HeaderSize + NullSeal.Instance.TagLength);
        Assert.Equal(32, DataFrame.Overhead(NullSeal.Instance.TagLength));
    }

    [Fact]
    public void Round_trips_gseq_and_inner_packet()
    {
        var inner = Gen.Select(Gen.OneOf(Gen.Const(4), Gen.Const(6)), Gen.Byte.Array[40, 1400], (version, bytes) =>
        {
            bytes[0] = (byte)((version << 4) | (bytes[0] & 0x0F));
            return bytes;
        });

        Gen.Select(WireGen.UInt32, inner).Sample((gseq, packet) =>
        {
            var plain = new byte[DataFrame.HeaderSize + packet.Length];
            DataFrame.WriteHeader(plain, gseq);
            packet.CopyTo(plain, DataFrame.HeaderSize);

            Assert.True(DataFrame.TryParse(plain, out uint parsedGseq, out var parsedInner, out var reason));
            Assert.Equal(DropReason.None, reason);
            Assert.Equal(gseq, parsedGseq);
            Assert.Equal(packet, parsedInner.ToArray());
        });
    }

    [Fact]
    public void Gseq_is_big_endian()
    {
        var plain = new byte[4];
        DataFrame.WriteHeader(plain, 0x01020304);

        Assert.Equal(new byte[] { 1, 2, 3, 4 }, plain);
    }

    [Fact]
    public void Shorter_than_gseq_is_truncated()
    {
        var plain = new byte[DataFrame.HeaderSize + 20];
        plain[DataFrame.HeaderSize] = 0x45;

        for (int length = 0; length < DataFrame.HeaderSize; length++)
        {
            Assert.False(DataFrame.TryParse(plain.AsSpan(0, length), out _, out _, out var reason));
            Assert.Equal(DropReason.Truncated, reason);
        }
    }

    [Theory]
    [InlineData(0x45, DataFrame.MinIPv4Length)]
    [InlineData(0x60, DataFrame.MinIPv6Length)]
    public void Inner_packet_shorter_than_its_ip_header_is_rejected(byte firstByte, int minLength)
    {
        var plain = new byte[DataFrame.HeaderSize + minLength];
        plain[DataFrame.HeaderSize] = firstByte;

        Assert.True(DataFrame.TryParse(plain, out _, out _, out _));
        for (int length = DataFrame.HeaderSize; length < plain.Length; length++)
        {
            Assert.False(DataFrame.TryParse(plain.AsSpan(0, length), out _, out var inner, out var reason));
            Assert.Equal(DropReason.BadInnerPacket, reason);
            Assert.True(inner.IsEmpty);
        }
    }

    [Fact]
    public void Inner_packet_that_is_neither_ipv4_nor_ipv6_is_rejected()
    {
        var plain = new byte[DataFrame.HeaderSize + 60];
        for (int version = 0; version < 16; version++)
        {
            plain[DataFrame.HeaderSize] = (byte)(version << 4);
            bool ok = DataFrame.TryParse(plain, out _, out _, out var reason);

            Assert.Equal(version is 4 or 6, ok);
            Assert.Equal(ok ? DropReason.None : DropReason.BadInnerPacket, reason);
        }
    }
}
