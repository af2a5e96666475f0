using System.Buffers.Binary;
using NSec.Cryptography;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439) as an <see cref="IPacketSeal"/>: one instance per direction key.
/// The 64-bit nonce the engine passes (<see cref="ClearHeader.Nonce"/> = path id &lt;&lt; 48 | packet number)
/// is laid out as Noise and WireGuard do: 4 zero bytes, then the counter little-endian (Noise spec §12.3).
/// The associated data is the clear header. Sealing and opening work in place on the datagram
/// and allocate nothing.
/// </summary>
public sealed class ChaChaPolySeal : IPacketSeal, IDisposable
{
    public const int TagSize = 16;

    public const int KeySize = 32;

    /// <summary>Noise reserves the all-ones nonce (spec §5.1): it is never used to encrypt.</summary>
    public const ulong MaxNonce = ulong.MaxValue - 1;

    private static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;

    private readonly Key _key;

    /// <exception cref="ArgumentException"><paramref name="key"/> is not 32 bytes.</exception>
    public ChaChaPolySeal(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"A ChaCha20-Poly1305 key is {KeySize} bytes, not {key.Length}.", nameof(key));
        }

        _key = Key.Import(Aead, key, KeyBlobFormat.RawSymmetricKey);
    }

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
        Aead.Encrypt(
            _key,
            n,
            datagram[..headerLength],
            datagram.Slice(headerLength, plainLength),
            datagram.Slice(headerLength, plainLength + TagSize));
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
        if (!Aead.Decrypt(_key, n, datagram[..headerLength], datagram[headerLength..], datagram.Slice(headerLength, plain)))
        {
            return false;
        }

        plainLength = plain;
        return true;
    }

    public void Dispose() => _key.Dispose();

    internal static void WriteNonce(Span<byte> destination, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], counter);
    }
}
