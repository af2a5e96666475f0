using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

/// <summary>A router and a proxy with fresh keys, and helpers to run the handshake between them.</summary>
internal sealed class SecurityHarness : IDisposable
{
    public const byte Paths = 3;

    public SecurityHarness()
    {
        Router = StaticKeyPair.Generate();
        Proxy = StaticKeyPair.Generate();
        Responder = new HandshakeResponder(Proxy);
        Cookies = new CookieJar(Paths);
    }

    public StaticKeyPair Router { get; }

    public StaticKeyPair Proxy { get; }

    public HandshakeResponder Responder { get; }

    public CookieJar Cookies { get; }

    public HandshakeInitiator NewInitiator(uint index, ulong timestamp = 1, StaticPublicKey? proxyKey = null, StaticKeyPair? router = null) =>
        new(router ?? Router, proxyKey ?? Proxy.PublicKey, index, Paths, 1400, timestamp, Cookies);

    /// <summary>Runs a whole handshake; returns (initiator keys, responder keys).</summary>
    public (TransportKeys Initiator, TransportKeys Responder) Handshake(uint initiatorIndex, uint responderIndex, long nowUs, ulong timestamp = 1)
    {
        using var initiator = NewInitiator(initiatorIndex, timestamp);
        var buffer = new byte[256];
        int n = initiator.WriteInitiation(buffer, 0, 0, nowUs);
        Assert.True(Responder.TryReadInitiation(buffer.AsSpan(0, n), out var handshake, out var reason), reason.ToString());
        using (handshake)
        {
            n = handshake!.WriteResponse(responderIndex, buffer, 0, nowUs, out var responderKeys);
            Assert.True(initiator.TryReadResponse(buffer.AsSpan(0, n), nowUs, out var initiatorKeys, out reason), reason.ToString());
            return (initiatorKeys!, responderKeys);
        }
    }

    /// <summary>A sealed datagram through <paramref name="ring"/>: header naming its send index, payload bytes.</summary>
    public static byte[] SealThrough(KeyRing ring, byte pathId, ulong packetNumber, ReadOnlySpan<byte> payload)
    {
        var datagram = new byte[ClearHeader.Size + payload.Length + ChaChaPolySeal.TagSize];
        var header = new ClearHeader(PacketType.Data, ring.SendIndex, pathId, packetNumber);
        header.Write(datagram);
        payload.CopyTo(datagram.AsSpan(ClearHeader.Size));
        ring.Seal(datagram, ClearHeader.Size, payload.Length, header.Nonce);
        return datagram;
    }

    public static ulong NonceOf(byte[] datagram)
    {
        Assert.True(ClearHeader.TryParse(datagram, out var header, out _));
        return header.Nonce;
    }

    public void Dispose()
    {
        Responder.Dispose();
        Router.Dispose();
        Proxy.Dispose();
    }
}
