using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// The router's side of one handshake attempt, sans-IO. Create one per attempt (each has a fresh
/// ephemeral key and timestamp); send <see cref="WriteInitiation"/> on every path; feed it the
/// responses and cookie replies that arrive; on success install the <see cref="TransportKeys"/> in the
/// session's <see cref="KeyRing"/>. Unanswered after <see cref="RekeyPolicy.RekeyTimeoutUs"/>: dispose it
/// and start a new attempt (the <see cref="CookieJar"/> carries over).
/// </summary>
public sealed class HandshakeInitiator : IDisposable
{
    /// <summary>The prologue both sides mix in first: binds the handshake to this protocol and version.</summary>
    public static ReadOnlySpan<byte> Prologue => "wanbond v1"u8;

    /// <summary>
    /// The prologue of a benchmark tunnel whose transport uses the null seal: different, so that an end that
    /// encrypts and an end that does not can never complete a handshake with each other.
    /// </summary>
    public static ReadOnlySpan<byte> InsecureNullTransportPrologue => "wanbond v1 INSECURE null transport (benchmark only)"u8;

    internal static ReadOnlySpan<byte> PrologueFor(bool insecureNullTransport) => insecureNullTransport ? InsecureNullTransportPrologue : Prologue;

    private static readonly AeadAlgorithm CookieAead = AeadAlgorithm.XChaCha20Poly1305;

    private readonly NoiseIK _noise;
    private readonly StaticPublicKey _responder;
    private readonly CookieJar _cookies;
    private readonly byte[] _body = new byte[HandshakeInitiation.Size];
    private readonly byte[] _mac1KeyToResponder;
    private readonly byte[] _mac1KeyToUs;
    private readonly byte[] _lastMac1 = new byte[HandshakeMacs.MacLength];
    private readonly byte _pathCount;
    private readonly bool _insecureNullTransport;

    /// <param name="local">The router's static key pair.</param>
    /// <param name="responder">The proxy's static public key (known beforehand: IK).</param>
    /// <param name="localIndex">A fresh non-zero index, unique among this side's live indices.</param>
    /// <param name="pathCount">The session's path count (as Hello carries it).</param>
    /// <param name="maxDatagramSize">The largest datagram this side accepts (as Hello carries it).</param>
    /// <param name="timestamp">
    /// Strictly greater than in any earlier initiation to this responder, across restarts: the daemon
    /// passes wall-clock microseconds since the Unix epoch. The responder refuses initiations that are
    /// not newer, so a captured initiation cannot be replayed.
    /// </param>
    /// <param name="cookies">This peer's cookies, kept across attempts.</param>
    /// <param name="insecureNullTransport">Benchmark only: the other prologue, and transport keys that use the null seal.</param>
    public HandshakeInitiator(
        StaticKeyPair local, StaticPublicKey responder, uint localIndex, byte pathCount, ushort maxDatagramSize, ulong timestamp, CookieJar cookies, bool insecureNullTransport = false)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(cookies);
        ArgumentOutOfRangeException.ThrowIfZero(localIndex);
        ArgumentOutOfRangeException.ThrowIfZero(pathCount);
        LocalIndex = localIndex;
        _pathCount = pathCount;
        _responder = responder;
        _cookies = cookies;
        _mac1KeyToResponder = HandshakeMacs.Mac1Key(responder);
        _mac1KeyToUs = HandshakeMacs.Mac1Key(local.PublicKey);
        _insecureNullTransport = insecureNullTransport;
        _noise = NoiseIK.CreateInitiator(local, responder, PrologueFor(insecureNullTransport));

        Span<byte> payload = stackalloc byte[HandshakeInitiation.PayloadLength];
        HandshakeInitiation.WritePayload(payload, localIndex, pathCount, maxDatagramSize, timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(_body.AsSpan(HandshakeInitiation.SenderIndexOffset), localIndex);
        _noise.WriteMessage1(payload, _body.AsSpan(HandshakeInitiation.NoiseOffset, HandshakeInitiation.NoiseLength));
    }

    public uint LocalIndex { get; }

    /// <summary>A response was accepted: this attempt is over.</summary>
    public bool IsComplete => _noise.IsComplete;

    /// <summary>The Noise handshake hash (final once <see cref="IsComplete"/>).</summary>
    public ReadOnlySpan<byte> HandshakeHash => _noise.HandshakeHash;

    /// <summary>
    /// Writes the initiation for one path: the same Noise message every time, with mac2 made from this
    /// path's cookie when the jar holds a fresh one.
    /// </summary>
    /// <returns><see cref="HandshakeInitiation.Size"/>.</returns>
    public int WriteInitiation(Span<byte> destination, byte pathId, ulong packetNumber, long nowUs)
    {
        if (destination.Length < HandshakeInitiation.Size)
        {
            throw new ArgumentException($"An initiation needs {HandshakeInitiation.Size} bytes.", nameof(destination));
        }

        var message = destination[..HandshakeInitiation.Size];
        _body.AsSpan(ClearHeader.Size).CopyTo(message[ClearHeader.Size..]);
        new ClearHeader(PacketType.HandshakeInitiation, 0, pathId, packetNumber).Write(message);
        HandshakeMacs.Write(message, _mac1KeyToResponder, _cookies.Get(pathId, nowUs));
        HandshakeMacs.Mac1Of(message).CopyTo(_lastMac1);
        return HandshakeInitiation.Size;
    }

    /// <summary>
    /// Takes a cookie reply: if it answers this attempt's initiation, the cookie goes into the jar for the
    /// path the reply names, and the next <see cref="WriteInitiation"/> on that path carries mac2.
    /// </summary>
    /// <param name="reason"><see cref="DropReason.UnknownSession"/> (not for this attempt) or <see cref="DropReason.AuthenticationFailed"/>.</param>
    public bool TryReadCookieReply(ReadOnlySpan<byte> datagram, long nowUs, out DropReason reason)
    {
        if (!CookieReply.TryParse(datagram, out var header, out reason))
        {
            return false;
        }

        if (header.ReceiverSessionId != LocalIndex || IsComplete)
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        Span<byte> cookie = stackalloc byte[HandshakeMacs.MacLength];
        using (var key = Key.Import(CookieAead, HandshakeMacs.CookieKey(_responder), KeyBlobFormat.RawSymmetricKey))
        {
            if (!CookieAead.Decrypt(
                key,
                datagram.Slice(CookieReply.NonceOffset, CookieReply.NonceLength),
                _lastMac1,
                datagram[CookieReply.CookieOffset..],
                cookie))
            {
                reason = DropReason.AuthenticationFailed;
                return false;
            }
        }

        _cookies.Store(header.PathId, cookie, nowUs);
        CryptographicOperations.ZeroMemory(cookie);
        reason = DropReason.None;
        return true;
    }

    /// <summary>
    /// Takes a handshake response. On success the attempt is complete and <paramref name="keys"/> are the
    /// new transport keys (initiator: they seal at once). A response that fails leaves the attempt as it
    /// was, so a forged one cannot spoil it.
    /// </summary>
    /// <param name="reason">
    /// <see cref="DropReason.UnknownSession"/> (another attempt's, or this one is done),
    /// <see cref="DropReason.AuthenticationFailed"/> (mac1 or Noise), <see cref="DropReason.BadPath"/>
    /// (the responder disagrees on the path count), or a payload parse reason.
    /// </param>
    public bool TryReadResponse(ReadOnlySpan<byte> datagram, long nowUs, out TransportKeys? keys, out DropReason reason)
    {
        keys = null;
        if (!HandshakeResponse.TryParse(datagram, out var header, out reason))
        {
            return false;
        }

        if (header.ReceiverSessionId != LocalIndex || IsComplete)
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        if (!HandshakeMacs.VerifyMac1(datagram, _mac1KeyToUs))
        {
            reason = DropReason.AuthenticationFailed;
            return false;
        }

        Span<byte> payload = stackalloc byte[HandshakeResponse.PayloadLength];
        if (!_noise.TryReadMessage2(datagram.Slice(HandshakeResponse.NoiseOffset, HandshakeResponse.NoiseLength), payload, out int length))
        {
            reason = DropReason.AuthenticationFailed;
            return false;
        }

        // From here on the response is authentic: the responder really sent it.
        if (!ControlFrames.TryParseHelloReply(payload[..length], out uint echoed, out uint responderIndex, out byte pathCount, out reason))
        {
            return false;
        }

        if (echoed != LocalIndex)
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        if (pathCount != _pathCount)
        {
            reason = DropReason.BadPath;
            return false;
        }

        Span<byte> send = stackalloc byte[ChaChaPolySeal.KeySize];
        Span<byte> receive = stackalloc byte[ChaChaPolySeal.KeySize];
        _noise.Split(send, receive);
        keys = new TransportKeys(LocalIndex, responderIndex, send, receive, isInitiator: true, _pathCount, nowUs, insecureNullTransport: _insecureNullTransport);
        CryptographicOperations.ZeroMemory(send);
        CryptographicOperations.ZeroMemory(receive);
        reason = DropReason.None;
        return true;
    }

    public void Dispose() => _noise.Dispose();
}
