using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class NullSealTests
{
    private static readonly NullSeal Seal = NullSeal.Instance;

    private static byte[] Sealed(int payloadLength, out ulong nonce)
    {
        var header = new ClearHeader(PacketType.Data, 0xDEADBEEF, 3, 12345);
        nonce = header.Nonce;
        var datagram = new byte[ClearHeader.Size + payloadLength + Seal.TagLength];
        header.Write(datagram);
        for (int i = 0; i < payloadLength; i++)
        {
            datagram[ClearHeader.Size + i] = (byte)(i * 31 + 7);
        }

        int total = Seal.Seal(datagram, ClearHeader.Size, payloadLength, nonce);
        Assert.Equal(datagram.Length, total);
        return datagram;
    }

    [Fact]
    public void Tag_is_16_bytes()
    {
        Assert.Equal(16, Seal.TagLength);
    }

    [Fact]
    public void Round_trips_any_payload_and_leaves_it_in_the_clear()
    {
        Gen.Select(WireGen.Header, Gen.Byte.Array[0, 1500]).Sample((header, payload) =>
        {
            var datagram = new byte[ClearHeader.Size + payload.Length + Seal.TagLength];
            header.Write(datagram);
            payload.CopyTo(datagram, ClearHeader.Size);

            int total = Seal.Seal(datagram, ClearHeader.Size, payload.Length, header.Nonce);

            Assert.Equal(datagram.Length, total);
            Assert.Equal(payload, datagram.AsSpan(ClearHeader.Size, payload.Length).ToArray());
            Assert.True(Seal.TryOpen(datagram, ClearHeader.Size, header.Nonce, out int plainLength));
            Assert.Equal(payload.Length, plainLength);
        });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(100)]
    public void Every_single_bit_flip_is_detected(int payloadLength)
    {
        var datagram = Sealed(payloadLength, out ulong nonce);

        for (int bit = 0; bit < datagram.Length * 8; bit++)
        {
            datagram[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(Seal.TryOpen(datagram, ClearHeader.Size, nonce, out _), $"bit {bit} flipped went unnoticed");
            datagram[bit / 8] ^= (byte)(1 << (bit % 8));
        }

        Assert.True(Seal.TryOpen(datagram, ClearHeader.Size, nonce, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(100)]
    public void Every_truncation_is_detected(int payloadLength)
    {
        var datagram = Sealed(payloadLength, out ulong nonce);

        for (int length = 0; length < datagram.Length; length++)
        {
            Assert.False(Seal.TryOpen(datagram.AsSpan(0, length), ClearHeader.Size, nonce, out int plainLength), $"cut to {length}");
            Assert.Equal(0, plainLength);
        }
    }

    [Fact]
    public void Appended_bytes_are_detected()
    {
        var datagram = Sealed(50, out ulong nonce);
        var longer = new byte[datagram.Length + 1];
        datagram.CopyTo(longer, 0);

        Assert.False(Seal.TryOpen(longer, ClearHeader.Size, nonce, out _));
    }

    [Fact]
    public void Wrong_nonce_is_detected()
    {
        var datagram = Sealed(50, out ulong nonce);

        Assert.False(Seal.TryOpen(datagram, ClearHeader.Size, nonce ^ 1, out _));
    }

    [Fact]
    public void Moving_the_header_boundary_is_detected()
    {
        var datagram = Sealed(50, out ulong nonce);

        Assert.False(Seal.TryOpen(datagram, ClearHeader.Size + 1, nonce, out _));
    }

    [Fact]
    public void Sealing_without_room_for_the_tag_is_a_programmer_error()
    {
        Assert.Throws<ArgumentException>(() => Seal.Seal(new byte[ClearHeader.Size + 10 + 15], ClearHeader.Size, 10, 0));
    }
}
