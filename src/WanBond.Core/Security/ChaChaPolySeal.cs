using System.Buffers.Binary;
using NSec.Cryptography;
using WanBond.Core.Security.OpenSsl;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439) as an <see cref="IPacketSeal"/>: one instance per direction key.
/// The 64-bit nonce the engine passes (<see cref="ClearHeader.Nonce"/> = path id &lt;&lt; 48 | packet number)
/// is laid out as Noise and WireGuard do: 4 zero bytes, then the counter little-endian (Noise spec §12.3).
/// The associated data is the clear header. Sealing and opening work in place on the datagram
/// and allocate nothing.
/// The cipher is OpenSSL's (libcrypto, reused per-key contexts: about twice as fast per packet as
/// libsodium here, and the one with NEON code on ARM routers); where libcrypto is missing or fails its
/// known-answer test at load, libsodium through NSec. Both give the same bytes (RFC 8439), so the two
/// ends of a tunnel need not agree on it; <see cref="Implementation"/> says which one this process uses.
/// </summary>
public sealed class ChaChaPolySeal : IPacketSeal, IDisposable
{
    public const int TagSize = 16;

    public const int KeySize = 32;

    /// <summary>Noise reserves the all-ones nonce (spec §5.1): it is never used to encrypt.</summary>
    public const ulong MaxNonce = ulong.MaxValue - 1;

    private static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;

    private static readonly Lazy<LibCrypto?> LibCrypto = new(OpenSsl.LibCrypto.Load);

    private readonly Key? _key;
    private readonly OpenSslAead? _openSsl;

    /// <exception cref="ArgumentException"><paramref name="key"/> is not 32 bytes.</exception>
    public ChaChaPolySeal(ReadOnlySpan<byte> key)
        : this(key, preferOpenSsl: true)
    {
    }

    /// <param name="preferOpenSsl">False: libsodium even where OpenSSL is there (tests and benchmarks compare the two).</param>
    internal ChaChaPolySeal(ReadOnlySpan<byte> key, bool preferOpenSsl)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"A ChaCha20-Poly1305 key is {KeySize} bytes, not {key.Length}.", nameof(key));
        }

        var api = preferOpenSsl ? LibCrypto.Value : null;
        if (api is not null)
        {
            _openSsl = new OpenSslAead(api, key);
        }
        else
        {
            _key = Key.Import(Aead, key, KeyBlobFormat.RawSymmetricKey);
        }
    }

    /// <summary>Which ChaCha20-Poly1305 this process seals with: "OpenSSL (libcrypto.so.3)" or "libsodium (NSec)".</summary>
    public static string Implementation => LibCrypto.Value is { } api ? $"OpenSSL ({api.Name})" : "libsodium (NSec)";

    /// <summary>True if this instance uses OpenSSL.</summary>
    internal bool UsesOpenSsl => _openSsl is not null;

    public int TagLength => TagSize;

    public int Seal(Span<byte> datagram, int headerLength, int plainLength, ulong nonce)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(headerLength);
        ArgumentOutOfRangeException.ThrowIfNegative(plainLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nonce, MaxNonce);
        int total = headerLength + plainLength + TagSize;
        if (datagram.Length < total)
        {
            throw new ArgumentException("Datagram buffer has no room for the tag.", nameof(datagram));
        }

        Span<byte> n = stackalloc byte[12];
        WriteNonce(n, nonce);
        if (_openSsl is not null)
        {
            _openSsl.Encrypt(n, datagram[..headerLength], datagram.Slice(headerLength, plainLength), datagram.Slice(headerLength + plainLength, TagSize));
        }
        else
        {
            Aead.Encrypt(
                _key!,
                n,
                datagram[..headerLength],
                datagram.Slice(headerLength, plainLength),
                datagram.Slice(headerLength, plainLength + TagSize));
        }
        return total;
    }

    public bool TryOpen(Span<byte> datagram, int headerLength, ulong nonce, out int plainLength)
    {
        plainLength = 0;
        if (headerLength < 0 || datagram.Length - headerLength < TagSize || nonce > MaxNonce)
        {
            return false;
        }

        int plain = datagram.Length - headerLength - TagSize;
        Span<byte> n = stackalloc byte[12];
        WriteNonce(n, nonce);
        bool ok = _openSsl is not null
            ? _openSsl.TryDecrypt(n, datagram[..headerLength], datagram.Slice(headerLength, plain), datagram.Slice(headerLength + plain, TagSize))
            : Aead.Decrypt(_key!, n, datagram[..headerLength], datagram[headerLength..], datagram.Slice(headerLength, plain));
        if (!ok)
        {
            return false;
        }

        plainLength = plain;
        return true;
    }

    public void Dispose()
    {
        _key?.Dispose();
        _openSsl?.Dispose();
    }

    internal static void WriteNonce(Span<byte> destination, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], counter);
    }
}
