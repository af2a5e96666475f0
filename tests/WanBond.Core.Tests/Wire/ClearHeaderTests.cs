using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class ClearHeaderTests
{
    [Fact]
    public void Write_produces_the_documented_bytes()
    {
        var header = new ClearHeader(PacketType.Ack, 0x0A0B0C0D, 7, 0x0102_0304_0506);
        var bytes = new byte[ClearHeader.Size];

        header.Write(bytes);

        Assert.Equal(new byte[] { 0x12, 0x0A, 0x0B, 0x0C, 0x0D, 7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 }, bytes);
    }

    [Fact]
    public void Round_trips_any_header()
    {
        WireGen.Header.Sample(header =>
        {
            var bytes = new byte[ClearHeader.Size];
            header.Write(bytes);

            Assert.True(ClearHeader.TryParse(bytes, out var parsed, out var reason));
            Assert.Equal(DropReason.None, reason);
            Assert.Equal(header, parsed);
        });
    }

    [Fact]
    public void Parse_ignores_bytes_after_the_header()
    {
        var bytes = new byte[40];
        new ClearHeader(PacketType.Data, 5, 1, 9).Write(bytes);

        Assert.True(ClearHeader.TryParse(bytes, out var parsed, out _));
        Assert.Equal(9UL, parsed.PacketNumber);
    }

    [Fact]
    public void Nonce_is_path_id_above_the_48_bit_packet_number()
    {
        var header = new ClearHeader(PacketType.Data, 1, 0xAB, ClearHeader.MaxPacketNumber);

        Assert.Equal(0x00AB_FFFF_FFFF_FFFFUL, header.Nonce);
        Assert.NotEqual(
            new ClearHeader(PacketType.Data, 1, 1, 0).Nonce,
            new ClearHeader(PacketType.Data, 1, 0, 1UL << 47).Nonce);
    }

    [Fact]
    public void Every_length_below_the_header_size_is_truncated()
    {
        var bytes = new byte[ClearHeader.Size];
        new ClearHeader(PacketType.Data, 1, 2, 3).Write(bytes);

        for (int length = 0; length < ClearHeader.Size; length++)
        {
            Assert.False(ClearHeader.TryParse(bytes.AsSpan(0, length), out _, out var reason));
            Assert.Equal(DropReason.Truncated, reason);
        }
    }

    [Fact]
    public void Every_other_version_is_rejected()
    {
        var bytes = new byte[ClearHeader.Size];
        new ClearHeader(PacketType.Data, 1, 2, 3).Write(bytes);

        for (int version = 0; version < 16; version++)
        {
            if (version == ClearHeader.Version)
            {
                continue;
            }

            bytes[0] = (byte)((version << 4) | (int)PacketType.Data);
            Assert.False(ClearHeader.TryParse(bytes, out _, out var reason));
            Assert.Equal(DropReason.BadVersion, reason);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    [InlineData(15)]
    public void Unassigned_types_are_rejected(int type)
    {
        var bytes = new byte[ClearHeader.Size];
        new ClearHeader(PacketType.Data, 1, 2, 3).Write(bytes);
        bytes[0] = (byte)((ClearHeader.Version << 4) | type);

        Assert.False(ClearHeader.TryParse(bytes, out _, out var reason));
        Assert.Equal(DropReason.UnknownType, reason);
    }

    [Theory]
    [InlineData(PacketType.HandshakeInitiation)]
    [InlineData(PacketType.HandshakeResponse)]
    [InlineData(PacketType.CookieReply)]
    public void Reserved_security_types_parse(PacketType type)
    {
        var bytes = new byte[ClearHeader.Size];
        new ClearHeader(type, 0, 0, 0).Write(bytes);

        Assert.True(ClearHeader.TryParse(bytes, out var parsed, out _));
        Assert.Equal(type, parsed.Type);
    }

    [Fact]
    public void Writing_a_packet_number_beyond_48_bits_is_a_programmer_error()
    {
        var header = new ClearHeader(PacketType.Data, 1, 0, ClearHeader.MaxPacketNumber + 1);

        Assert.Throws<ArgumentOutOfRangeException>(() => header.Write(new byte[ClearHeader.Size]));
    }
}
