using System.Runtime.InteropServices;
using CsCheck;
using NSec.Cryptography;
using WanBond.Core.Security;
using WanBond.Core.Security.OpenSsl;
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

    public static TheoryData<bool> Backends => new() { true, false };

    [Theory]
    [MemberData(nameof(Backends))]
    public void Seal_then_open_round_trips_and_encrypts(bool openSsl)
    {
        using var seal = new ChaChaPolySeal(KeyA, openSsl);
        Assert.Equal(16, seal.TagLength);
        var (datagram, nonce, plain) = Sealed(seal);
        Assert.NotEqual(plain, datagram.AsSpan(ClearHeader.Size, plain.Length).ToArray());
        Assert.True(seal.TryOpen(datagram, ClearHeader.Size, nonce, out int plainLength));
        Assert.Equal(plain, datagram.AsSpan(ClearHeader.Size, plainLength).ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Nonce_is_four_zero_bytes_then_the_counter_little_endian_and_header_is_associated_data(bool openSsl)
    {
        using var seal = new ChaChaPolySeal(KeyA, openSsl);
        var (datagram, nonce, plain) = Sealed(seal);
        var expectedNonce = new byte[12];
        BitConverter.TryWriteBytes(expectedNonce.AsSpan(4), nonce); // little-endian on every supported platform
        Assert.True(BitConverter.IsLittleEndian);
        using var key = Key.Import(AeadAlgorithm.ChaCha20Poly1305, KeyA, KeyBlobFormat.RawSymmetricKey);
        var expected = AeadAlgorithm.ChaCha20Poly1305.Encrypt(key, expectedNonce, datagram.AsSpan(0, ClearHeader.Size), plain);
        Assert.Equal(expected, datagram.AsSpan(ClearHeader.Size).ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Every_single_bit_flip_fails_to_open(bool openSsl)
    {
        using var seal = new ChaChaPolySeal(KeyA, openSsl);
        var (original, nonce, _) = Sealed(seal, 40);
        for (int bit = 0; bit < original.Length * 8; bit++)
        {
            var datagram = (byte[])original.Clone();
            datagram[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(seal.TryOpen(datagram, ClearHeader.Size, nonce, out _), $"bit {bit}");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Every_truncation_fails_to_open(bool openSsl)
    {
        using var seal = new ChaChaPolySeal(KeyA, openSsl);
        var (original, nonce, _) = Sealed(seal, 40);
        for (int length = 0; length < original.Length; length++)
        {
            var datagram = original.AsSpan(0, length).ToArray();
            Assert.False(seal.TryOpen(datagram, ClearHeader.Size, nonce, out _), $"length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Wrong_key_or_wrong_nonce_fails_to_open(bool openSsl)
    {
        using var a = new ChaChaPolySeal(KeyA, openSsl);
        using var b = new ChaChaPolySeal(KeyB, openSsl);
        var (datagram, nonce, _) = Sealed(a);
        Assert.False(b.TryOpen((byte[])datagram.Clone(), ClearHeader.Size, nonce, out _));
        Assert.False(a.TryOpen((byte[])datagram.Clone(), ClearHeader.Size, nonce + 1, out _));
        Assert.False(a.TryOpen((byte[])datagram.Clone(), ClearHeader.Size, nonce ^ (1UL << 48), out _));
        Assert.True(a.TryOpen(datagram, ClearHeader.Size, nonce, out _));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Bad_arguments_are_rejected_not_misused(bool openSsl)
    {
        using var seal = new ChaChaPolySeal(KeyA, openSsl);
        Assert.Throws<ArgumentException>(() => new ChaChaPolySeal(new byte[16]));
        Assert.Throws<ArgumentException>(() => seal.Seal(new byte[20], ClearHeader.Size, 8, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => seal.Seal(new byte[100], ClearHeader.Size, 8, ulong.MaxValue));
        Assert.False(seal.TryOpen(new byte[100], -1, 0, out _));
        Assert.False(seal.TryOpen(new byte[100], ClearHeader.Size, ulong.MaxValue, out _));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Empty_payload_seals_to_header_plus_tag(bool openSsl)
    {
        using var seal = new ChaChaPolySeal(KeyA, openSsl);
        var datagram = new byte[ClearHeader.Size + 16];
        Assert.Equal(datagram.Length, seal.Seal(datagram, ClearHeader.Size, 0, 7));
        Assert.True(seal.TryOpen(datagram, ClearHeader.Size, 7, out int plain));
        Assert.Equal(0, plain);
    }

    [Fact]
    public void OpenSsl_is_used_wherever_libcrypto_loads()
    {
        bool loads = false;
        foreach (var name in new[] { "libcrypto.so.3", "libcrypto.so.1.1" })
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                NativeLibrary.Free(handle);
                loads = true;
            }
        }
        using var seal = new ChaChaPolySeal(KeyA);
        Assert.Equal(loads, seal.UsesOpenSsl);
        Assert.StartsWith(loads ? "OpenSSL (libcrypto.so." : "libsodium", ChaChaPolySeal.Implementation, StringComparison.Ordinal);
        using var sodium = new ChaChaPolySeal(KeyA, preferOpenSsl: false);
        Assert.False(sodium.UsesOpenSsl);
    }

    [Fact]
    public void Rfc8439_vector_passes_through_libsodium_and_the_openssl_binding()
    {
        // The vector the OpenSSL binding checks itself against at load: libsodium must agree with it too.
        var key = Enumerable.Range(0x80, 32).Select(i => (byte)i).ToArray();
        byte[] nonce = [0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47];
        byte[] ad = [0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7];
        var plain = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."u8.ToArray();
        using var k = Key.Import(AeadAlgorithm.ChaCha20Poly1305, key, KeyBlobFormat.RawSymmetricKey);
        var sealedText = AeadAlgorithm.ChaCha20Poly1305.Encrypt(k, nonce, ad, plain);
        Assert.Equal("1ae10b594f09e26a7e902ecbd0600691", Convert.ToHexStringLower(sealedText.AsSpan(plain.Length)));
        Assert.StartsWith("d31a8d34648e60db7b86afbc53ef7ec2", Convert.ToHexStringLower(sealedText), StringComparison.Ordinal);

        var api = LibCrypto.Load();
        if (api is null)
        {
            return; // no libcrypto here: the seal uses libsodium (OpenSsl_is_used_wherever_libcrypto_loads checks that)
        }
        Assert.True(OpenSslAead.PassesKnownAnswerTest(api));
        using var aead = new OpenSslAead(api, key);
        var text = (byte[])plain.Clone();
        var tag = new byte[16];
        aead.Encrypt(nonce, ad, text, tag);
        Assert.Equal(sealedText, text.Concat(tag).ToArray());
    }

    [Fact]
    public void OpenSsl_and_libsodium_seal_the_same_bytes_and_open_each_other()
    {
        Gen.Select(Gen.Byte.Array[32], Gen.Int[0, 1500], Gen.ULong[0, ChaChaPolySeal.MaxNonce], Gen.Int[0, 40]).Sample((key, length, nonce, header) =>
        {
            using var openSsl = new ChaChaPolySeal(key, preferOpenSsl: true);
            using var sodium = new ChaChaPolySeal(key, preferOpenSsl: false);
            var plain = new byte[header + length];
            new Random(length).NextBytes(plain);
            var a = new byte[header + length + 16];
            var b = new byte[header + length + 16];
            plain.CopyTo(a, 0);
            plain.CopyTo(b, 0);
            openSsl.Seal(a, header, length, nonce);
            sodium.Seal(b, header, length, nonce);
            Assert.Equal(b, a);
            Assert.True(sodium.TryOpen(a, header, nonce, out int la));
            Assert.True(openSsl.TryOpen(b, header, nonce, out int lb));
            Assert.Equal(length, la);
            Assert.Equal(length, lb);
            Assert.Equal(plain, a.AsSpan(0, header + length).ToArray());
            Assert.Equal(plain, b.AsSpan(0, header + length).ToArray());
        }, iter: 300);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_failed_open_leaves_no_plaintext_behind(bool openSsl)
    {
        using var seal = new ChaChaPolySeal(KeyA, openSsl);
        var (datagram, nonce, plain) = Sealed(seal, 200);
        datagram[^1] ^= 0x80; // the tag's last byte
        Assert.False(seal.TryOpen(datagram, ClearHeader.Size, nonce, out int plainLength));
        Assert.Equal(0, plainLength);
        Assert.NotEqual(plain, datagram.AsSpan(ClearHeader.Size, plain.Length).ToArray());
        if (seal.UsesOpenSsl)
        {
            // Decrypted in place before the tag is checked, so the text is wiped on failure.
            Assert.All(datagram.AsSpan(ClearHeader.Size, plain.Length).ToArray(), b => Assert.Equal(0, b));
        }
    }

    [Fact]
    public void A_sealer_keeps_working_after_opens_fail_and_after_it_opened()
    {
        // One OpenSSL context per direction of use: failed opens must not disturb the next seal or open.
        using var seal = new ChaChaPolySeal(KeyA);
        for (int i = 0; i < 50; i++)
        {
            var (datagram, nonce, plain) = Sealed(seal, 64 + i);
            var bad = (byte[])datagram.Clone();
            bad[ClearHeader.Size] ^= 1;
            Assert.False(seal.TryOpen(bad, ClearHeader.Size, nonce, out _));
            Assert.True(seal.TryOpen(datagram, ClearHeader.Size, nonce, out int n));
            Assert.Equal(plain, datagram.AsSpan(ClearHeader.Size, n).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_disposed_seal_refuses_to_seal_or_open_instead_of_touching_freed_keys(bool openSsl)
    {
        var seal = new ChaChaPolySeal(KeyA, openSsl);
        var (datagram, nonce, _) = Sealed(seal);
        seal.Dispose();
        seal.Dispose(); // twice is harmless
        Assert.Throws<ObjectDisposedException>(() => seal.Seal(new byte[ClearHeader.Size + 10 + 16], ClearHeader.Size, 10, 1));
        Assert.Throws<ObjectDisposedException>(() => seal.TryOpen(datagram, ClearHeader.Size, nonce, out _));
    }
}
