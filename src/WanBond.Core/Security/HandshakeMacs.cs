using System.Security.Cryptography;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// The MACs that let a receiver reject handshake messages before spending a Diffie-Hellman on them
/// (WireGuard whitepaper §5.4.4, with this suite's hash):
/// <list type="bullet">
/// <item>mac1 = MAC(HASH("mac1----" ‖ receiver's static public key), message body up to mac1): anyone who
/// knows the receiver's public key can make it, nobody else can, so scans and random garbage cost one hash.</item>
/// <item>mac2 = MAC(cookie, message body up to mac2): proves the sender received a cookie at its source
/// address recently; demanded only under load.</item>
/// </list>
/// MAC(key, data) is HMAC-BLAKE2b truncated to 16 bytes, the Noise suite's own HMAC, rather than WireGuard's
/// keyed BLAKE2s: one primitive for everything, and it runs on the stack (NSec's keyed-hash keys live in
/// guarded memory that costs tens of microseconds to set up, too much for every packet of a flood).
/// The clear header (bytes 0..11) is not covered: its path id and packet number are per-path routing hints,
/// and the same initiation is sent on every path with the same MACs.
/// </summary>
internal static class HandshakeMacs
{
    public const int MacLength = 16;

    private static ReadOnlySpan<byte> Mac1Label => "mac1----"u8;

    private static ReadOnlySpan<byte> CookieLabel => "cookie--"u8;

    /// <summary>HASH("mac1----" ‖ key): the mac1 key of messages sent to the owner of <paramref name="receiver"/>.</summary>
    public static byte[] Mac1Key(StaticPublicKey receiver)
    {
        Span<byte> pub = stackalloc byte[StaticPublicKey.Size];
        receiver.CopyTo(pub);
        var key = new byte[Blake2bHmac.HashLength];
        Blake2bHmac.HashOf(Mac1Label, pub, default, key);
        return key;
    }

    /// <summary>HASH("cookie--" ‖ key)[..32]: the key that encrypts cookies sent by the owner of <paramref name="responder"/>.</summary>
    public static byte[] CookieKey(StaticPublicKey responder)
    {
        Span<byte> pub = stackalloc byte[StaticPublicKey.Size];
        Span<byte> hash = stackalloc byte[Blake2bHmac.HashLength];
        responder.CopyTo(pub);
        Blake2bHmac.HashOf(CookieLabel, pub, default, hash);
        return hash[..32].ToArray();
    }

    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        Span<byte> full = stackalloc byte[Blake2bHmac.HashLength];
        Blake2bHmac.Mac(key, data, default, default, full);
        full[..MacLength].CopyTo(mac);
    }

    public static bool Verify(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> mac)
    {
        Span<byte> expected = stackalloc byte[MacLength];
        Compute(key, data, expected);
        return CryptographicOperations.FixedTimeEquals(expected, mac[..MacLength]);
    }

    /// <summary>Writes mac1 and mac2 (zeros when <paramref name="cookie"/> is empty) of a message whose MACs end it.</summary>
    public static void Write(Span<byte> message, ReadOnlySpan<byte> mac1Key, ReadOnlySpan<byte> cookie)
    {
        int mac1 = message.Length - 2 * MacLength;
        int mac2 = message.Length - MacLength;
        Compute(mac1Key, message[ClearHeader.Size..mac1], message[mac1..mac2]);
        if (cookie.IsEmpty)
        {
            message[mac2..].Clear();
        }
        else
        {
            Compute(cookie, message[ClearHeader.Size..mac2], message[mac2..]);
        }
    }

    public static bool VerifyMac1(ReadOnlySpan<byte> message, ReadOnlySpan<byte> mac1Key)
    {
        int mac1 = message.Length - 2 * MacLength;
        return Verify(mac1Key, message[ClearHeader.Size..mac1], message[mac1..]);
    }

    public static bool VerifyMac2(ReadOnlySpan<byte> message, ReadOnlySpan<byte> cookie)
    {
        int mac2 = message.Length - MacLength;
        return Verify(cookie, message[ClearHeader.Size..mac2], message[mac2..]);
    }

    public static ReadOnlySpan<byte> Mac1Of(ReadOnlySpan<byte> message) => message.Slice(message.Length - 2 * MacLength, MacLength);

    public static bool TryParseHeader(ReadOnlySpan<byte> datagram, PacketType type, int size, out ClearHeader header, out DropReason reason)
    {
        if (!ClearHeader.TryParse(datagram, out header, out reason))
        {
            return false;
        }

        if (header.Type != type)
        {
            reason = DropReason.UnknownType;
            return false;
        }

        if (datagram.Length != size)
        {
            reason = datagram.Length < size ? DropReason.Truncated : DropReason.BadLength;
            return false;
        }

        return true;
    }
}
