using System.Security.Cryptography;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// The proxy's side of the handshake, sans-IO. It holds only the proxy's static key and the cookie
/// secret: nothing per peer and nothing per source, so a flood of initiations cannot make it grow.
/// <para>
/// For each datagram of type <see cref="PacketType.HandshakeInitiation"/>, in this order:
/// <list type="number">
/// <item><see cref="HandshakeInitiation.TryParse"/> (length, type) — no cryptography;</item>
/// <item><see cref="Cookies"/>.<see cref="CookieChecker.Check"/> with the source address and the load state —
/// hashes only; <see cref="MacCheck.CookieRequired"/>: send <see cref="CookieChecker.WriteCookieReply"/> and stop;</item>
/// <item>the per-source <see cref="HandshakeRateLimiter"/> — a table lookup;</item>
/// <item><see cref="TryReadInitiation"/> — the Diffie-Hellman work, only now;</item>
/// <item>look the peer up by <see cref="ResponderHandshake.InitiatorStatic"/> (unknown: drop), check its
/// <see cref="InitiationReplayGuard"/> with <see cref="ResponderHandshake.Timestamp"/> (not newer: drop as a replay);</item>
/// <item><see cref="ResponderHandshake.WriteResponse"/> and install the keys in the peer's <see cref="KeyRing"/>.</item>
/// </list>
/// </para>
/// </summary>
public sealed class HandshakeResponder : IDisposable
{
    private readonly StaticKeyPair _local;
    private readonly byte[] _mac1KeyToUs;
    private readonly bool _insecureNullTransport;

    /// <param name="insecureNullTransport">Benchmark only: accept only initiators that ask for the null-seal transport (the other prologue).</param>
    public HandshakeResponder(StaticKeyPair local, bool insecureNullTransport = false)
    {
        ArgumentNullException.ThrowIfNull(local);
        _local = local;
        _insecureNullTransport = insecureNullTransport;
        _mac1KeyToUs = HandshakeMacs.Mac1Key(local.PublicKey);
        Cookies = new CookieChecker(local.PublicKey);
    }

    public StaticPublicKey PublicKey => _local.PublicKey;

    /// <summary>The mac1/mac2 gate and cookie replies for this responder's key.</summary>
    public CookieChecker Cookies { get; }

    /// <summary>
    /// Decrypts an initiation (re-checking mac1, so skipping the cookie gate cannot make garbage cost a DH).
    /// On success the returned handshake names the initiator's static key, its index, path count and
    /// timestamp; the caller decides whether to answer.
    /// </summary>
    /// <param name="reason">
    /// A header/length reason, <see cref="DropReason.AuthenticationFailed"/> (mac1, Noise, or a clear sender
    /// index that differs from the authenticated one), or a payload reason (<see cref="DropReason.BadPath"/> for
    /// a path count of zero or above <see cref="HandshakeInitiation.MaxPathCount"/>).
    /// </param>
    public bool TryReadInitiation(ReadOnlySpan<byte> datagram, out ResponderHandshake? handshake, out DropReason reason)
    {
        handshake = null;
        if (!HandshakeInitiation.TryParse(datagram, out var header, out uint clearIndex, out reason))
        {
            return false;
        }

        if (!HandshakeMacs.VerifyMac1(datagram, _mac1KeyToUs))
        {
            reason = DropReason.AuthenticationFailed;
            return false;
        }

        var noise = NoiseIK.CreateResponder(_local, HandshakeInitiator.PrologueFor(_insecureNullTransport));
        Span<byte> payload = stackalloc byte[HandshakeInitiation.PayloadLength];
        if (!noise.TryReadMessage1(datagram.Slice(HandshakeInitiation.NoiseOffset, HandshakeInitiation.NoiseLength), payload, out int length))
        {
            noise.Dispose();
            reason = DropReason.AuthenticationFailed;
            return false;
        }

        if (!HandshakeInitiation.TryParsePayload(payload[..length], out uint index, out byte pathCount, out ushort maxDatagramSize, out ulong timestamp, out reason))
        {
            noise.Dispose();
            return false;
        }

        if (index != clearIndex)
        {
            // Someone rewrote the clear copy: answering would address the response to them.
            noise.Dispose();
            reason = DropReason.AuthenticationFailed;
            return false;
        }

        handshake = new ResponderHandshake(noise, index, pathCount, maxDatagramSize, timestamp, header.PathId) { InsecureNullTransport = _insecureNullTransport };
        reason = DropReason.None;
        return true;
    }

    public void Dispose() => Cookies.Dispose();
}

/// <summary>One initiation that decrypted: who sent it and what it asks for, and the means to answer it.</summary>
public sealed class ResponderHandshake : IDisposable
{
    private readonly NoiseIK _noise;

    internal ResponderHandshake(NoiseIK noise, uint initiatorIndex, byte pathCount, ushort maxDatagramSize, ulong timestamp, byte pathId)
    {
        _noise = noise;
        InitiatorIndex = initiatorIndex;
        PathCount = pathCount;
        MaxDatagramSize = maxDatagramSize;
        Timestamp = timestamp;
        PathId = pathId;
    }

    /// <summary>The initiator's static public key: the proxy's peer lookup key (cryptokey routing).</summary>
    public StaticPublicKey InitiatorStatic => _noise.RemoteStatic;

    /// <summary>The initiator's index for the new keys: the <c>ReceiverSessionId</c> of everything sent to it under them.</summary>
    public uint InitiatorIndex { get; }

    public byte PathCount { get; }

    public ushort MaxDatagramSize { get; }

    /// <summary>The initiator's timestamp: must be newer than the peer's last accepted one (<see cref="InitiationReplayGuard"/>).</summary>
    public ulong Timestamp { get; }

    /// <summary>The path id in the initiation's clear header: send the response on that path.</summary>
    public byte PathId { get; }

    /// <summary>Benchmark only: the keys this handshake makes use the null seal.</summary>
    internal bool InsecureNullTransport { get; init; }

    /// <summary>The Noise handshake hash (final after <see cref="WriteResponse"/>).</summary>
    public ReadOnlySpan<byte> HandshakeHash => _noise.HandshakeHash;

    /// <summary>
    /// Writes the response and derives the transport keys. The keys go to the peer's <see cref="KeyRing"/>
    /// (as <see cref="KeyRing.Next"/>, until the initiator's first datagram under them confirms them).
    /// </summary>
    /// <param name="localIndex">A fresh non-zero index for the new keys, unique among this side's live indices.</param>
    /// <returns><see cref="HandshakeResponse.Size"/>.</returns>
    public int WriteResponse(uint localIndex, Span<byte> destination, ulong packetNumber, long nowUs, out TransportKeys keys)
    {
        ArgumentOutOfRangeException.ThrowIfZero(localIndex);
        if (destination.Length < HandshakeResponse.Size)
        {
            throw new ArgumentException($"A response needs {HandshakeResponse.Size} bytes.", nameof(destination));
        }

        var message = destination[..HandshakeResponse.Size];
        new ClearHeader(PacketType.HandshakeResponse, InitiatorIndex, PathId, packetNumber).Write(message);
        Span<byte> payload = stackalloc byte[HandshakeResponse.PayloadLength];
        ControlFrames.WriteHelloReply(payload, InitiatorIndex, localIndex, PathCount);
        _noise.WriteMessage2(payload, message.Slice(HandshakeResponse.NoiseOffset, HandshakeResponse.NoiseLength));
        HandshakeMacs.Write(message, HandshakeMacs.Mac1Key(InitiatorStatic), default);

        Span<byte> send = stackalloc byte[ChaChaPolySeal.KeySize];
        Span<byte> receive = stackalloc byte[ChaChaPolySeal.KeySize];
        _noise.Split(send, receive);
        keys = new TransportKeys(localIndex, InitiatorIndex, send, receive, isInitiator: false, PathCount, nowUs, insecureNullTransport: InsecureNullTransport);
        CryptographicOperations.ZeroMemory(send);
        CryptographicOperations.ZeroMemory(receive);
        return HandshakeResponse.Size;
    }

    public void Dispose() => _noise.Dispose();
}

/// <summary>
/// Per configured peer on the responder: the newest initiation timestamp accepted. An initiation whose
/// timestamp is not newer is a replay (or a duplicate of one already answered, e.g. the same initiation
/// arriving on a second path) and is dropped before it can disturb the peer's session. Created with the
/// peer's configuration, so it is not per-source state.
/// </summary>
public sealed class InitiationReplayGuard
{
    private bool _any;

    public ulong Newest { get; private set; }

    /// <summary>Accepts <paramref name="timestamp"/> if it is newer than every one accepted before.</summary>
    public bool TryAdvance(ulong timestamp)
    {
        if (_any && timestamp <= Newest)
        {
            return false;
        }

        Newest = timestamp;
        _any = true;
        return true;
    }
}
