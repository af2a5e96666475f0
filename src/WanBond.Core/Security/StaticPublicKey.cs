using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;

namespace WanBond.Core.Security;

/// <summary>
/// A Curve25519 public key (32 bytes), the identity of a wanbond peer. A value type with equality,
/// so the proxy can look peers up in a dictionary without allocating. Text form is standard
/// base64 with padding (44 characters), exactly as WireGuard prints and reads keys.
/// </summary>
public readonly struct StaticPublicKey : IEquatable<StaticPublicKey>
{
    /// <summary>Raw length of a Curve25519 key.</summary>
    public const int Size = 32;

    /// <summary>Length of the base64 text form.</summary>
    public const int Base64Length = 44;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    private StaticPublicKey(ulong a, ulong b, ulong c, ulong d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    /// <exception cref="ArgumentException"><paramref name="key"/> is not 32 bytes.</exception>
    public static StaticPublicKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"A Curve25519 public key is {Size} bytes, not {key.Length}.", nameof(key));
        }

        return new StaticPublicKey(
            BinaryPrimitives.ReadUInt64LittleEndian(key),
            BinaryPrimitives.ReadUInt64LittleEndian(key[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(key[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(key[24..]));
    }

    /// <summary>Parses the 44-character base64 form.</summary>
    /// <exception cref="FormatException">The text is not a base64-encoded 32-byte key; the message says what is wrong.</exception>
    public static StaticPublicKey Parse(string text)
    {
        Span<byte> raw = stackalloc byte[Size];
        KeyText.Decode(text, "public key", raw);
        return FromBytes(raw);
    }

    /// <summary>Like <see cref="Parse"/>, with the reason in <paramref name="error"/> instead of an exception.</summary>
    public static bool TryParse(string? text, out StaticPublicKey key, out string? error)
    {
        Span<byte> raw = stackalloc byte[Size];
        if (!KeyText.TryDecode(text, "public key", raw, out error))
        {
            key = default;
            return false;
        }

        key = FromBytes(raw);
        return true;
    }

    /// <summary>True for the all-zero value (<c>default</c>), which no real key pair has.</summary>
    public bool IsZero => (_a | _b | _c | _d) == 0;

    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("Destination is shorter than a public key.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64LittleEndian(destination, _a);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>The 44-character base64 form, as <c>wg pubkey</c> prints it.</summary>
    public string ToBase64()
    {
        Span<byte> raw = stackalloc byte[Size];
        CopyTo(raw);
        return Convert.ToBase64String(raw);
    }

    public override string ToString() => ToBase64();

    /// <summary>Constant-time comparison, for checks an attacker could time.</summary>
    public bool FixedTimeEquals(ReadOnlySpan<byte> other)
    {
        Span<byte> raw = stackalloc byte[Size];
        CopyTo(raw);
        return other.Length == Size && CryptographicOperations.FixedTimeEquals(raw, other);
    }

    public bool Equals(StaticPublicKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is StaticPublicKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    public static bool operator ==(StaticPublicKey left, StaticPublicKey right) => left.Equals(right);

    public static bool operator !=(StaticPublicKey left, StaticPublicKey right) => !left.Equals(right);

    /// <summary>The NSec form, for key agreement (allocates: handshake path only).</summary>
    internal PublicKey ToNSec()
    {
        Span<byte> raw = stackalloc byte[Size];
        CopyTo(raw);
        return PublicKey.Import(KeyAgreementAlgorithm.X25519, raw, KeyBlobFormat.RawPublicKey);
    }
}
