using System.Buffers.Binary;

namespace WanBond.Core.Wire;

/// <summary>
/// <b>NOT ENCRYPTION. NOT AUTHENTICATION. NOT SECURE IN ANY WAY.</b>
/// A stand-in <see cref="IPacketSeal"/> for tests and the simulator: the payload stays in the
/// clear and the 16-byte tag is an unkeyed checksum that anyone can recompute. It exists so that
/// the exact wire layout, the overhead, and the "corrupted datagram is rejected" path are
/// exercised without a key. Never use it on a real network.
/// </summary>
/// <remarks>
/// The tag is two 64-bit FNV-1a-style hashes (different offset bases and multipliers) over
/// nonce, lengths, header and payload, folded 8 bytes at a time for speed, each finished with a
/// bijective avalanche. Each fold step is a bijection of the running state for a fixed input
/// word, so any change confined to one 8-byte word (every single-bit flip) always changes the tag;
/// the lengths are hashed so that truncation is caught as well.
/// </remarks>
public sealed class NullSeal : IPacketSeal
{
    public const int TagSize = 16;

    /// <summary>Stateless, so one instance serves everybody.</summary>
    public static NullSeal Instance { get; } = new();

    public int TagLength => TagSize;

    public int Seal(Span<byte> datagram, int headerLength, int plainLength, ulong nonce)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(headerLength);
        ArgumentOutOfRangeException.ThrowIfNegative(plainLength);
        int total = headerLength + plainLength + TagSize;
        if (datagram.Length < total)
        {
            throw new ArgumentException("Datagram buffer has no room for the tag.", nameof(datagram));
        }

        ComputeTag(datagram[..headerLength], datagram.Slice(headerLength, plainLength), nonce, out ulong a, out ulong b);
        var tag = datagram.Slice(headerLength + plainLength, TagSize);
        BinaryPrimitives.WriteUInt64BigEndian(tag, a);
        BinaryPrimitives.WriteUInt64BigEndian(tag[8..], b);
        return total;
    }

    public bool TryOpen(Span<byte> datagram, int headerLength, ulong nonce, out int plainLength)
    {
        plainLength = 0;
        if (headerLength < 0 || datagram.Length - headerLength < TagSize)
        {
            return false;
        }

        int plain = datagram.Length - headerLength - TagSize;
        ComputeTag(datagram[..headerLength], datagram.Slice(headerLength, plain), nonce, out ulong a, out ulong b);
        var tag = datagram.Slice(headerLength + plain, TagSize);
        if (BinaryPrimitives.ReadUInt64BigEndian(tag) != a || BinaryPrimitives.ReadUInt64BigEndian(tag[8..]) != b)
        {
            return false;
        }

        plainLength = plain;
        return true;
    }

    private const ulong OffsetA = 0xCBF29CE484222325; // FNV-1a 64 offset basis
    private const ulong PrimeA = 0x00000100000001B3; // FNV-1a 64 prime
    private const ulong OffsetB = 0x84222325CBF29CE4; // rotated basis: an independent second lane
    private const ulong PrimeB = 0x9E3779B97F4A7C15; // odd golden-ratio constant, so multiplying is a bijection

    private static void ComputeTag(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, ulong nonce, out ulong a, out ulong b)
    {
        a = OffsetA;
        b = OffsetB;
        Fold(ref a, ref b, nonce);
        // Both lengths go in first, so moving bytes between header and payload, or cutting the end, changes the tag.
        Fold(ref a, ref b, ((ulong)(uint)header.Length << 32) | (uint)payload.Length);
        FoldBytes(ref a, ref b, header);
        FoldBytes(ref a, ref b, payload);
        a = Avalanche(a);
        b = Avalanche(b);
    }

    private static void FoldBytes(ref ulong a, ref ulong b, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            Fold(ref a, ref b, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        if (i < data.Length)
        {
            // Tail bytes packed into one word; the length was hashed up front, so zero padding is unambiguous.
            ulong word = 0;
            for (int shift = 0; i < data.Length; i++, shift += 8)
            {
                word |= (ulong)data[i] << shift;
            }

            Fold(ref a, ref b, word);
        }
    }

    private static void Fold(ref ulong a, ref ulong b, ulong word)
    {
        a = (a ^ word) * PrimeA;
        b = (b ^ word) * PrimeB;
    }

    // The murmur3 / splitmix64 finalizer: bijective, spreads every input bit over the whole word.
    private static ulong Avalanche(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCD;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53;
        x ^= x >> 33;
        return x;
    }
}
