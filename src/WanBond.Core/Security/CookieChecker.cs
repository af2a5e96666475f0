using System.Security.Cryptography;
using NSec.Cryptography;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>What the responder does with a handshake message after the cheap MAC checks.</summary>
public enum MacCheck
{
    /// <summary>Not a well-formed initiation, or mac1 is wrong: drop it, answer nothing.</summary>
    Invalid,

    /// <summary>mac1 is right but the responder is under load and mac2 is not: answer with a cookie reply, process nothing.</summary>
    CookieRequired,

    /// <summary>Worth a Diffie-Hellman: go on to decrypt it.</summary>
    Valid,
}

/// <summary>
/// The responder's DoS gate (WireGuard whitepaper §5.3): before any public-key operation, a handshake
/// message must carry a valid mac1, and, while the responder is under load, a valid mac2 made with a
/// cookie tied to its source address. A source that cannot receive at its address (a spoofer) never
/// gets a cookie, so under load it cannot make the responder compute. The cookie is
/// MAC(secret, source) with a random secret replaced every two minutes, so the responder keeps no
/// per-source state at all; a cookie therefore lives at most two minutes.
/// </summary>
public sealed class CookieChecker : IDisposable
{
    /// <summary>How long a cookie secret is used before a new random one replaces it.</summary>
    public const long SecretLifetimeUs = 120_000_000;

    private static readonly AeadAlgorithm CookieAead = AeadAlgorithm.XChaCha20Poly1305;

    private readonly byte[] _mac1Key;
    private readonly Key _cookieKey;
    private readonly byte[] _secret = new byte[32];
    private long _secretBornUs;
    private bool _hasSecret;

    /// <param name="local">The responder's own static public key (mac1 and the cookie encryption are keyed by it).</param>
    public CookieChecker(StaticPublicKey local)
    {
        _mac1Key = HandshakeMacs.Mac1Key(local);
        _cookieKey = Key.Import(CookieAead, HandshakeMacs.CookieKey(local), KeyBlobFormat.RawSymmetricKey);
    }

    /// <summary>Secrets generated so far (tests and metrics).</summary>
    public int SecretsGenerated { get; private set; }

    /// <summary>
    /// Checks mac1 and, when <paramref name="underLoad"/>, mac2 of a handshake message (initiation) that
    /// arrived from <paramref name="source"/>. Hashes only; no allocation.
    /// </summary>
    /// <param name="source">The source address as the daemon identifies it: IP bytes followed by the UDP port.</param>
    public MacCheck Check(ReadOnlySpan<byte> message, ReadOnlySpan<byte> source, bool underLoad, long nowUs)
    {
        // The shape first (type, exact length, receiver id 0, a sender index to address a cookie reply to): mac1
        // does not cover the clear header, so a captured initiation with a rewritten header still has a valid
        // mac1, and a cookie reply to it could not be written (found by the fuzzer: it crashed the proxy).
        if (!HandshakeInitiation.TryParse(message, out _, out _, out _) || !HandshakeMacs.VerifyMac1(message, _mac1Key))
        {
            return MacCheck.Invalid;
        }

        if (!underLoad)
        {
            return MacCheck.Valid;
        }

        Span<byte> cookie = stackalloc byte[HandshakeMacs.MacLength];
        MakeCookie(source, nowUs, cookie);
        return HandshakeMacs.VerifyMac2(message, cookie) ? MacCheck.Valid : MacCheck.CookieRequired;
    }

    /// <summary>
    /// Writes the cookie reply to a (well-formed) initiation from <paramref name="source"/>: addressed to the
    /// initiation's clear sender index, on its path, the cookie encrypted with the initiation's mac1 as
    /// associated data so that only the sender of that initiation can use it.
    /// </summary>
    /// <returns><see cref="CookieReply.Size"/>.</returns>
    /// <exception cref="ArgumentException">Not a well-formed initiation (check with <see cref="HandshakeInitiation.TryParse"/> first), or no room.</exception>
    public int WriteCookieReply(ReadOnlySpan<byte> initiation, ReadOnlySpan<byte> source, Span<byte> destination, long nowUs)
    {
        if (!HandshakeInitiation.TryParse(initiation, out var header, out uint senderIndex, out _))
        {
            throw new ArgumentException("Not a well-formed handshake initiation.", nameof(initiation));
        }

        if (destination.Length < CookieReply.Size)
        {
            throw new ArgumentException($"A cookie reply needs {CookieReply.Size} bytes.", nameof(destination));
        }

        new ClearHeader(PacketType.CookieReply, senderIndex, header.PathId, 0).Write(destination);
        var nonce = destination.Slice(CookieReply.NonceOffset, CookieReply.NonceLength);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> cookie = stackalloc byte[HandshakeMacs.MacLength];
        MakeCookie(source, nowUs, cookie);
        CookieAead.Encrypt(
            _cookieKey,
            nonce,
            HandshakeMacs.Mac1Of(initiation),
            cookie,
            destination.Slice(CookieReply.CookieOffset, CookieReply.Size - CookieReply.CookieOffset));
        CryptographicOperations.ZeroMemory(cookie);
        return CookieReply.Size;
    }

    public void Dispose()
    {
        _cookieKey.Dispose();
        CryptographicOperations.ZeroMemory(_secret);
    }

    private void MakeCookie(ReadOnlySpan<byte> source, long nowUs, Span<byte> cookie)
    {
        if (!_hasSecret || nowUs - _secretBornUs >= SecretLifetimeUs)
        {
            RandomNumberGenerator.Fill(_secret);
            _secretBornUs = nowUs;
            _hasSecret = true;
            SecretsGenerated++;
        }

        HandshakeMacs.Compute(_secret, source, cookie);
    }
}
