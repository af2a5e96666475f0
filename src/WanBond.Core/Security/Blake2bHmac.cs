using NSec.Cryptography;

namespace WanBond.Core.Security;

/// <summary>
/// HMAC-BLAKE2b (RFC 2104 with BLAKE2b-512, block length 128) and the Noise HKDF built on it
/// (Noise spec §4.3). NSec has BLAKE2b but no HMAC over it, and Noise requires HMAC rather than
/// BLAKE2b's own keyed mode, so it is built here from <see cref="IncrementalHash"/>.
/// Everything works on spans and the stack: no heap allocation, so the cookie MACs can run on
/// every incoming handshake message under a flood.
/// </summary>
internal static class Blake2bHmac
{
    /// <summary>HASHLEN of the Noise suite: BLAKE2b-512.</summary>
    public const int HashLength = 64;

    /// <summary>BLAKE2b's block length, which HMAC pads its key to.</summary>
    public const int BlockLength = 128;

    private static readonly HashAlgorithm Hash = HashAlgorithm.Blake2b_512;

    /// <summary>HASH(a || b || c): unkeyed BLAKE2b-512 of the concatenation.</summary>
    public static void HashOf(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c, Span<byte> output)
    {
        IncrementalHash.Initialize(Hash, out var state);
        IncrementalHash.Update(ref state, a);
        IncrementalHash.Update(ref state, b);
        IncrementalHash.Update(ref state, c);
        IncrementalHash.Finalize(ref state, output[..HashLength]);
    }

    /// <summary>HMAC-BLAKE2b(key, a || b || c), 64 bytes into <paramref name="output"/>.</summary>
    /// <param name="key">At most <see cref="BlockLength"/> bytes (every key used here is 16..64 bytes).</param>
    public static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c, Span<byte> output)
    {
        if (key.Length > BlockLength)
        {
            throw new ArgumentException("HMAC keys longer than the block are not used here.", nameof(key));
        }

        Span<byte> pad = stackalloc byte[BlockLength];
        Span<byte> inner = stackalloc byte[HashLength];

        pad.Clear();
        key.CopyTo(pad);
        for (int i = 0; i < pad.Length; i++)
        {
            pad[i] ^= 0x36;
        }

        IncrementalHash.Initialize(Hash, out var state);
        IncrementalHash.Update(ref state, pad);
        IncrementalHash.Update(ref state, a);
        IncrementalHash.Update(ref state, b);
        IncrementalHash.Update(ref state, c);
        IncrementalHash.Finalize(ref state, inner);

        for (int i = 0; i < pad.Length; i++)
        {
            pad[i] ^= 0x36 ^ 0x5C;
        }

        IncrementalHash.Initialize(Hash, out state);
        IncrementalHash.Update(ref state, pad);
        IncrementalHash.Update(ref state, inner);
        IncrementalHash.Finalize(ref state, output[..HashLength]);

        pad.Clear();
        inner.Clear();
    }

    /// <summary>
    /// Noise HKDF(chainingKey, ikm) with two outputs (three when <paramref name="output3"/> is not empty),
    /// each <see cref="HashLength"/> bytes.
    /// </summary>
    public static void Hkdf(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> ikm, Span<byte> output1, Span<byte> output2, Span<byte> output3)
    {
        Span<byte> tempKey = stackalloc byte[HashLength];
        ReadOnlySpan<byte> one = [0x01];
        ReadOnlySpan<byte> two = [0x02];
        ReadOnlySpan<byte> three = [0x03];

        Mac(chainingKey, ikm, default, default, tempKey);
        Mac(tempKey, one, default, default, output1);
        Mac(tempKey, output1[..HashLength], two, default, output2);
        if (!output3.IsEmpty)
        {
            Mac(tempKey, output2[..HashLength], three, default, output3);
        }

        tempKey.Clear();
    }
}
