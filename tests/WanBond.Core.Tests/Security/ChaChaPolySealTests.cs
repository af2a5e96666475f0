using NSec.Cryptography;
using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

public class ChaChaPolySealTests
{
    private static readonly byte[] KeyA = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] KeyB = Enumerable.Range(2, 32).Select(i => (byte)i).ToArray();

    private static (byte[] Datagram, ulong Nonce, byte[] Plain) Sealed(ChaChaPolySeal seal, int payloadLength = 100)
    {
        var header = new ClearHeader(PacketType.Data, 0xDEADBEEF, 2, 12345);
        var plain = Enumerable.Range(0, payloadLength).Select(i => (byte)(i * 7)).ToArray();
        var datagram = new byte[ClearHeader.Size + payloadLength + ChaChaPolySeal.TagSize];
        header.Write(datagram);
        plain.CopyTo(datagram, ClearHeader.Size);
        int n = seal.Seal(datagram, ClearHeader.Size, payloadLength, header.Nonce);
        Assert.Equal(datagram.Length, n);
        return (datagram, header.Nonce, plain);
    }

    [Fact]
    public void Seal_then_open_round_trips_and_encrypts()
    {
        using var seal = new ChaChaPolySeal(KeyA);
        Assert.Equal(16, seal.TagLength);
        var (datagram, nonce, plain) = Sealed(seal);
        Assert.NotEqual(plain, datagram.AsSpan(ClearHeader.Size, plain.Length).ToArray());
        Assert.True(seal.TryOpen(datagram, ClearHeader.Size, nonce, out int plainLength));
        Assert.Equal(plain, datagram.AsSpan(ClearHeader.Size, plainLength).ToArray());
    }

    [Fact]
    public void Nonce_is_four_zero_bytes_then_the_counter_little_endian_and_header_is_associated_data()
    {
        using var seal = new ChaChaPolySeal(KeyA);
        var (datagram, nonce, plain) = Sealed(seal);
        var expectedNonce = new byte[12];
        BitConverter.TryWriteBytes(expectedNonce.AsSpan(4), nonce); // little-endian on every supported platform
        Assert.True(BitConverter.IsLittleEndian);
        using var key = Key.Import(AeadAlgorithm.ChaCha20Poly1305, KeyA, KeyBlobFormat.RawSymmetricKey);
        var expected = AeadAlgorithm.ChaCha20Poly1305.Encrypt(key, expectedNonce, datagram.AsSpan(0, ClearHeader.Size), plain);
        Assert.Equal(expected, datagram.AsSpan(ClearHeader.Size).ToArray());
    }

    [Fact]
    public void Every_single_bit_flip_fails_to_open()
    {
        using var seal = new ChaChaPolySeal(KeyA);
        var (original, nonce, _) = Sealed(seal, 40);
        for (int bit = 0; bit < original.Length * 8; bit++)
        {
            var datagram = (byte[])original.Clone();
            datagram[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(seal.TryOpen(datagram, ClearHeader.Size, nonce, out _), $"bit {bit}");
        }
    }

    [Fact]
    public void Every_truncation_fails_to_open()
    {
        using var seal = new ChaChaPolySeal(KeyA);
        var (original, nonce, _) = Sealed(seal, 40);
        for (int length = 0; length < original.Length; length++)
        {
            var datagram = original.AsSpan(0, length).ToArray();
            Assert.False(seal.TryOpen(datagram, ClearHeader.Size, nonce, out _), $"length {length}");
        }
    }

    [Fact]
    public void Wrong_key_or_wrong_nonce_fails_to_open()
    {
        using var a = new ChaChaPolySeal(KeyA);
        using var b = new ChaChaPolySeal(KeyB);
        var (datagram, nonce, _) = Sealed(a);
        Assert.False(b.TryOpen((byte[])datagram.Clone(), ClearHeader.Size, nonce, out _));
        Assert.False(a.TryOpen((byte[])datagram.Clone(), ClearHeader.Size, nonce + 1, out _));
        Assert.False(a.TryOpen((byte[])datagram.Clone(), ClearHeader.Size, nonce ^ (1UL << 48), out _));
        Assert.True(a.TryOpen(datagram, ClearHeader.Size, nonce, out _));
    }

    [Fact]
    public void Bad_arguments_are_rejected_not_misused()
    {
        using var seal = new ChaChaPolySeal(KeyA);
        Assert.Throws<ArgumentException>(() => new ChaChaPolySeal(new byte[16]));
        Assert.Throws<ArgumentException>(() => seal.Seal(new byte[20], ClearHeader.Size, 8, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => seal.Seal(new byte[100], ClearHeader.Size, 8, ulong.MaxValue));
        Assert.False(seal.TryOpen(new byte[100], -1, 0, out _));
        Assert.False(seal.TryOpen(new byte[100], ClearHeader.Size, ulong.MaxValue, out _));
    }

    [Fact]
    public void Empty_payload_seals_to_header_plus_tag()
    {
        using var seal = new ChaChaPolySeal(KeyA);
        var datagram = new byte[ClearHeader.Size + 16];
        Assert.Equal(datagram.Length, seal.Seal(datagram, ClearHeader.Size, 0, 7));
        Assert.True(seal.TryOpen(datagram, ClearHeader.Size, 7, out int plain));
        Assert.Equal(0, plain);
    }
}
