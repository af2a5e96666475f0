using System.Security.Cryptography;
using NSec.Cryptography;

namespace WanBond.Core.Security;

/// <summary>
/// A peer's long-term Curve25519 key pair. The private key lives in NSec's protected memory; it can
/// be exported (to write the key file or print it for <c>wanbond genkey</c>) because a key that could
/// never be saved would be useless.
/// </summary>
public sealed class StaticKeyPair : IDisposable
{
    private StaticKeyPair(Key key)
    {
        Key = key;
        Span<byte> pub = stackalloc byte[StaticPublicKey.Size];
        key.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, pub, out _);
        PublicKey = StaticPublicKey.FromBytes(pub);
    }

    public StaticPublicKey PublicKey { get; }

    internal Key Key { get; }

    /// <summary>A fresh key pair from the system's CSPRNG, clamped as <c>wg genkey</c> does.</summary>
    public static StaticKeyPair Generate()
    {
        Span<byte> raw = stackalloc byte[StaticPublicKey.Size];
        RandomNumberGenerator.Fill(raw);
        try
        {
            Clamp(raw);
            return FromPrivateKey(raw);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>Imports a raw 32-byte private key (any bytes are a valid X25519 scalar; it is used clamped).</summary>
    /// <exception cref="ArgumentException">Not 32 bytes.</exception>
    public static StaticKeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != StaticPublicKey.Size)
        {
            throw new ArgumentException($"A Curve25519 private key is {StaticPublicKey.Size} bytes, not {privateKey.Length}.", nameof(privateKey));
        }

        var exportable = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        return new StaticKeyPair(Key.Import(KeyAgreementAlgorithm.X25519, privateKey, KeyBlobFormat.RawPrivateKey, in exportable));
    }

    /// <summary>Parses the 44-character base64 private key (as <c>wg genkey</c> prints it).</summary>
    /// <exception cref="FormatException">Not a base64-encoded 32-byte key; the message says what is wrong.</exception>
    public static StaticKeyPair FromBase64(string text)
    {
        Span<byte> raw = stackalloc byte[StaticPublicKey.Size];
        try
        {
            KeyText.Decode(text, "private key", raw);
            return FromPrivateKey(raw);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>The private key's base64 text. Handle with care: this is the secret.</summary>
    public string PrivateKeyToBase64()
    {
        Span<byte> raw = stackalloc byte[StaticPublicKey.Size];
        try
        {
            Key.TryExport(KeyBlobFormat.RawPrivateKey, raw, out _);
            return Convert.ToBase64String(raw);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    public void Dispose() => Key.Dispose();

    /// <summary>The X25519 clamping (RFC 7748 §5), the form WireGuard stores.</summary>
    internal static void Clamp(Span<byte> scalar)
    {
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
    }
}
