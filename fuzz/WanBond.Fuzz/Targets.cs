using System.Buffers.Binary;
using WanBond.Core.Security;
using WanBond.Core.Sessions;
using WanBond.Core.Wire;

namespace WanBond.Fuzz;

/// <summary>A target found a state that must not exist (the fuzzer reports it as a crash).</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);

/// <summary>
/// The fuzz targets. Each takes one input, must never throw (bad input is only ever counted), and returns a
/// short label of how far the input got, so the engine-free smoke run can check that inputs reach deep.
/// Every input starts from fresh state (new sessions, new handshakes), so a crash reproduces from its input alone.
/// </summary>
public static class Targets
{
    private const long Now = 10_000_000;

    private static readonly Lazy<HandshakeResponder> LazyResponder = new(() => new HandshakeResponder(FuzzKeys.Proxy));

    /// <summary>Names and entry points, as `fuzz/run` and the smoke test call them.</summary>
    public static IReadOnlyDictionary<string, Func<byte[], string>> All { get; } = new Dictionary<string, Func<byte[], string>>
    {
        ["datagram"] = input => Datagram(input),
        ["handshake"] = input => Handshake(input),
    };

    private static HandshakeResponder Responder => LazyResponder.Value;

    // ------------------------------------------------------------------ datagram

    /// <summary>
    /// One datagram as it arrives from the network: (1) the proxy's view, in the order of ProxyEngine and
    /// docs/security.md (clear header; initiations through the cookie gate and the Noise responder, answered
    /// when valid; everything else to the session its receiver index names, which holds real keys); (2) the view
    /// of two engines whose peer is authenticated but hostile (a trusting seal), so every frame parser and the
    /// engine's handling of every frame see the bytes.
    /// </summary>
    public static string Datagram(ReadOnlySpan<byte> input)
    {
        var proxy = ProxyView(input);
        var peers = PeerViews(input);
        return proxy + " " + peers;
    }

    private static string ProxyView(ReadOnlySpan<byte> datagram)
    {
        if (!ClearHeader.TryParse(datagram, out var header, out var reason))
        {
            return "proxy:" + reason;
        }
        if (header.Type == PacketType.HandshakeInitiation)
        {
            return "proxy:" + Initiation(datagram);
        }
        if (header.Type is not (PacketType.Data or PacketType.DataExpress or PacketType.DataExpressOnPath or PacketType.Ack or PacketType.Probe or PacketType.Close))
        {
            return "proxy:not-for-proxy";
        }
        if (header.ReceiverSessionId != FuzzKeys.ProxyIndex)
        {
            return "proxy:unknown-index";
        }
        var session = new Session(Options(FuzzKeys.Paths), SessionSecurity.ForResponder(), SessionRole.Responder, Now);
        try
        {
            session.Keys!.Install(FuzzKeys.NewProxyKeys(Now), Now);
            session.ReceiveDatagram(-1, datagram, Now);
            var opened = session.Drops.Total == 0;
            Pump(session, Now + 1000);
            if (opened && session.PeerSessionId != FuzzKeys.RouterIndex)
            {
                throw new FuzzInvariantException("an authentic datagram under new keys did not confirm them");
            }
            return opened ? "proxy:opened-" + header.Type : "proxy:sealed-drop";
        }
        finally
        {
            session.ReleaseKeys();
        }
    }

    /// <summary>The proxy's handling of a type-8 datagram, as ProxyEngine.ReceiveInitiation does it (no rate limit: every input is a new source).</summary>
    private static string Initiation(ReadOnlySpan<byte> datagram)
    {
        ReadOnlySpan<byte> source = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 7, 0x1E, 0x14];
        var loaded = Responder.Cookies.Check(datagram, source, underLoad: true, Now);
        var calm = Responder.Cookies.Check(datagram, source, underLoad: false, Now);
        if (calm == MacCheck.Invalid)
        {
            if (loaded != MacCheck.Invalid)
            {
                throw new FuzzInvariantException("mac1 failed without load but passed under load");
            }
            return "mac1";
        }
        if (loaded == MacCheck.CookieRequired)
        {
            var reply = new byte[CookieReply.Size];
            if (Responder.Cookies.WriteCookieReply(datagram, source, reply, Now) != CookieReply.Size
                || !CookieReply.TryParse(reply, out var replyHeader, out _)
                || replyHeader.ReceiverSessionId != BinaryPrimitives.ReadUInt32BigEndian(datagram[HandshakeInitiation.SenderIndexOffset..]))
            {
                throw new FuzzInvariantException("the cookie reply is not addressed to the initiation's sender");
            }
        }
        if (!Responder.TryReadInitiation(datagram, out var hs, out var reason) || hs is null)
        {
            return "read-" + reason;
        }
        using (hs)
        {
            return Answer(hs);
        }
    }

    /// <summary>What the proxy does with an initiation that decrypted: peer lookup, path count, a responder session, the response.</summary>
    private static string Answer(ResponderHandshake hs)
    {
        if (hs.InitiatorStatic != FuzzKeys.Router.PublicKey)
        {
            return "unknown-peer";
        }
        if (hs.PathCount is 0 or > 32)
        {
            return "bad-path-count"; // ProxyEngine's own check
        }
        var session = new Session(Options(hs.PathCount), SessionSecurity.ForResponder(), SessionRole.Responder, Now);
        try
        {
            var response = new byte[HandshakeResponse.Size];
            var n = session.AcceptHandshake(hs, 0x0102_0304, response, Now);
            if (!HandshakeResponse.TryParse(response.AsSpan(0, n), out var header, out _) || header.ReceiverSessionId != hs.InitiatorIndex)
            {
                throw new FuzzInvariantException("the response is not addressed to the initiator's index");
            }
            return "answered";
        }
        finally
        {
            session.ReleaseKeys();
        }
    }

    /// <summary>Two engines that trust each other's seal, set up and carrying data; the datagram reaches both.</summary>
    private static string PeerViews(ReadOnlySpan<byte> datagram)
    {
        var (router, proxy) = PrimedPair(out var t);
        var routerDrops = router.Drops.Total;
        var proxyDrops = proxy.Drops.Total;
        proxy.ReceiveDatagram(-1, datagram, t);
        var path = datagram.Length > 5 ? datagram[5] % FuzzKeys.Paths : 0;
        router.ReceiveDatagram(path, datagram, t);
        // Whatever the datagram did, both engines must go on working with each other.
        for (var i = 0; i < 20; i++)
        {
            t += 2000;
            Exchange(router, proxy, t);
        }
        if (!proxy.IsEstablished && !router.IsEstablished)
        {
            return "peer:closed";
        }
        var accepted = (proxy.Drops.Total == proxyDrops ? 1 : 0) + (router.Drops.Total == routerDrops ? 1 : 0);
        return "peer:accepted" + accepted;
    }

    /// <param name="tap">Sees every datagram the two exchange (the seed corpus is made from them).</param>
    internal static (Session Router, Session Proxy) PrimedPair(out long t, Action<byte[]>? tap = null)
    {
        t = Now;
        var router = new Session(Options(FuzzKeys.Paths), TrustingSeal.Instance, SessionRole.Initiator, 1, t);
        var proxy = new Session(Options(FuzzKeys.Paths), TrustingSeal.Instance, SessionRole.Responder, 2, t);
        Span<byte> packet = stackalloc byte[60];
        packet.Clear();
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], 60);
        packet[9] = 17;
        for (var i = 0; i < 6; i++)
        {
            t += 1000;
            if (i < 4)
            {
                packet[19] = (byte)i;
                router.SubmitInner(packet, t);
                proxy.SubmitInner(packet, t);
            }
            Exchange(router, proxy, t, tap);
        }
        return (router, proxy);
    }

    internal static void Exchange(Session a, Session b, long t, Action<byte[]>? tap = null)
    {
        Span<byte> buffer = stackalloc byte[2048];
        for (var round = 0; round < 4; round++)
        {
            var moved = Deliver(a, b, t, buffer, tap) + Deliver(b, a, t, buffer, tap);
            if (moved == 0)
            {
                break;
            }
        }
        Pump(a, t);
        Pump(b, t);
    }

    private static int Deliver(Session from, Session to, long t, Span<byte> buffer, Action<byte[]>? tap)
    {
        if (from.NextTimeoutUs <= t)
        {
            from.HandleTimeout(t);
        }
        var n = 0;
        while (n < 64 && from.TryPollDatagram(t, buffer, out var length, out var path))
        {
            tap?.Invoke(buffer[..length].ToArray());
            to.ReceiveDatagram(path, buffer[..length], t);
            n++;
        }
        return n;
    }

    /// <summary>Runs due timers and drains what a session would send and deliver (bounded).</summary>
    private static void Pump(Session s, long t)
    {
        Span<byte> buffer = stackalloc byte[2048];
        if (s.NextTimeoutUs <= t)
        {
            s.HandleTimeout(t);
        }
        for (var i = 0; i < 64 && s.TryPollDatagram(t, buffer, out _, out _); i++)
        {
        }
        for (var i = 0; i < 64 && s.TryPollInner(buffer, out _); i++)
        {
        }
    }

    private static SessionOptions Options(int paths) => new() { PathCount = paths };

    // ------------------------------------------------------------------ handshake

    /// <summary>
    /// The handshake messages in every role. Byte 0 picks the mode (low 3 bits) and whether to repair mac1 after
    /// mutating (bit 3: without it, mutations stop at the cheap mac1 check); the rest is data:
    /// <list type="bullet">
    /// <item>0: the data is an initiation, to the proxy;</item>
    /// <item>1: the data is XORed onto a fresh valid initiation, to the proxy; if answered, the response goes back
    /// to the initiator and the two must agree on their keys;</item>
    /// <item>2: a valid handshake, with the data XORed onto the response before the initiator reads it;</item>
    /// <item>3: the data XORed onto a cookie reply to a valid initiation, to the initiator;</item>
    /// <item>4: the data is a response, 5: a cookie reply, to an initiator waiting for its answer;</item>
    /// <item>6: an authenticated initiator with parameters from the data (path count, datagram size, timestamp,
    /// index, static key): what a configured but hostile router can make the proxy do.</item>
    /// </list>
    /// </summary>
    public static string Handshake(ReadOnlySpan<byte> input)
    {
        if (input.Length == 0)
        {
            return "empty";
        }
        var mode = input[0] & 7;
        var repairMac1 = (input[0] & 8) != 0;
        var data = input[1..];
        return mode switch
        {
            0 => "raw-initiation:" + Initiation(Repaired(data, HandshakeInitiation.Size, FuzzKeys.Proxy.PublicKey, repairMac1)),
            1 => MutatedInitiation(data, repairMac1),
            2 => MutatedResponse(data, repairMac1),
            3 => MutatedCookieReply(data),
            4 => RawToInitiator(data, repairMac1, cookie: false),
            5 => RawToInitiator(data, repairMac1, cookie: true),
            _ => HostileParameters(data),
        };
    }

    private static HandshakeInitiator NewInitiator(CookieJar jar, byte pathCount = FuzzKeys.Paths, ushort maxDatagram = 1472, ulong timestamp = 1, uint index = 0x0A0B_0C0D, StaticKeyPair? key = null) =>
        new(key ?? FuzzKeys.Router, FuzzKeys.Proxy.PublicKey, index, pathCount, maxDatagram, timestamp, jar);

    private static string MutatedInitiation(ReadOnlySpan<byte> data, bool repairMac1)
    {
        var jar = new CookieJar(FuzzKeys.Paths);
        using var initiator = NewInitiator(jar);
        var message = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(message, 0, 0, Now);
        var mutated = Xor(message, data);
        if (repairMac1)
        {
            RepairMac1(mutated, FuzzKeys.Proxy.PublicKey);
        }
        var verdict = Initiation(mutated);
        if (!Responder.TryReadInitiation(mutated, out var hs, out _) || hs is null)
        {
            return "mutated-initiation:" + verdict;
        }
        using (hs)
        {
            if (hs.InitiatorStatic != FuzzKeys.Router.PublicKey || hs.PathCount != FuzzKeys.Paths)
            {
                throw new FuzzInvariantException("a changed initiation decrypted to other contents");
            }
            var response = new byte[HandshakeResponse.Size];
            hs.WriteResponse(0x0102_0304, response, 0, Now, out var proxyKeys);
            using (proxyKeys)
            {
                if (!initiator.TryReadResponse(response, Now, out var routerKeys, out var reason) || routerKeys is null)
                {
                    throw new FuzzInvariantException("the initiator refused the answer to its own initiation: " + reason);
                }
                using (routerKeys)
                {
                    CheckKeysAgree(routerKeys, proxyKeys);
                }
            }
        }
        return "mutated-initiation:" + verdict;
    }

    private static string MutatedResponse(ReadOnlySpan<byte> data, bool repairMac1)
    {
        var jar = new CookieJar(FuzzKeys.Paths);
        using var initiator = NewInitiator(jar);
        var message = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(message, 1, 0, Now);
        if (!Responder.TryReadInitiation(message, out var hs, out var reason) || hs is null)
        {
            throw new FuzzInvariantException("the proxy refused a valid initiation: " + reason);
        }
        using (hs)
        {
            var response = new byte[HandshakeResponse.Size];
            hs.WriteResponse(0x0102_0304, response, 0, Now, out var proxyKeys);
            using (proxyKeys)
            {
                var mutated = Xor(response, data);
                if (repairMac1)
                {
                    RepairMac1(mutated, FuzzKeys.Router.PublicKey);
                }
                if (!initiator.TryReadResponse(mutated, Now, out var routerKeys, out reason) || routerKeys is null)
                {
                    return "mutated-response:" + reason;
                }
                using (routerKeys)
                {
                    CheckKeysAgree(routerKeys, proxyKeys);
                }
                return "mutated-response:accepted";
            }
        }
    }

    private static string MutatedCookieReply(ReadOnlySpan<byte> data)
    {
        var jar = new CookieJar(FuzzKeys.Paths);
        using var initiator = NewInitiator(jar);
        var message = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(message, 1, 0, Now);
        ReadOnlySpan<byte> source = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 51, 100, 9, 0x1E, 0x14];
        var reply = new byte[CookieReply.Size];
        Responder.Cookies.WriteCookieReply(message, source, reply, Now);
        var mutated = Xor(reply, data);
        if (!initiator.TryReadCookieReply(mutated, Now, out var reason))
        {
            return "cookie:" + reason;
        }
        // The cookie it took must be the one the proxy would check, on the path the reply named.
        if (!ClearHeader.TryParse(mutated, out var header, out _) || header.PathId >= FuzzKeys.Paths)
        {
            return "cookie:accepted-other-path";
        }
        initiator.WriteInitiation(message, header.PathId, 0, Now);
        return Responder.Cookies.Check(message, source, underLoad: true, Now) == MacCheck.Valid ? "cookie:accepted" : "cookie:accepted-stale";
    }

    private static string RawToInitiator(ReadOnlySpan<byte> data, bool repairMac1, bool cookie)
    {
        var jar = new CookieJar(FuzzKeys.Paths);
        using var initiator = NewInitiator(jar);
        Span<byte> message = stackalloc byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(message, 0, 0, Now);
        if (cookie)
        {
            return "raw-cookie:" + (initiator.TryReadCookieReply(data, Now, out var why) ? "accepted" : why.ToString());
        }
        var response = Repaired(data, HandshakeResponse.Size, FuzzKeys.Router.PublicKey, repairMac1);
        if (!initiator.TryReadResponse(response, Now, out var keys, out var reason) || keys is null)
        {
            return "raw-response:" + reason;
        }
        keys.Dispose();
        throw new FuzzInvariantException("the initiator accepted a response nobody with the proxy's key wrote");
    }

    private static string HostileParameters(ReadOnlySpan<byte> data)
    {
        Span<byte> p = stackalloc byte[16];
        p.Clear();
        data[..Math.Min(data.Length, p.Length)].CopyTo(p);
        var pathCount = p[0] == 0 ? (byte)1 : p[0]; // the initiator itself refuses 0
        var maxDatagram = BinaryPrimitives.ReadUInt16BigEndian(p[1..]);
        var timestamp = BinaryPrimitives.ReadUInt64BigEndian(p[3..]);
        var index = BinaryPrimitives.ReadUInt32BigEndian(p[11..]);
        index = index == 0 ? 1 : index;
        var key = (p[15] & 1) != 0 ? FuzzKeys.Stranger : FuzzKeys.Router;
        var jar = new CookieJar(pathCount);
        using var initiator = NewInitiator(jar, pathCount, maxDatagram, timestamp, index, key);
        var message = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(message, (byte)(p[14] % pathCount), p[13], Now);
        return "hostile:" + Initiation(message);
    }

    // ------------------------------------------------------------------ helpers

    private static void CheckKeysAgree(TransportKeys router, TransportKeys proxy)
    {
        if (router.LocalIndex != proxy.RemoteIndex || router.RemoteIndex != proxy.LocalIndex)
        {
            throw new FuzzInvariantException("the two sides disagree on the key indices");
        }
        Span<byte> datagram = stackalloc byte[ClearHeader.Size + 8 + ChaChaPolySeal.TagSize];
        new ClearHeader(PacketType.Data, router.RemoteIndex, 0, 5).Write(datagram);
        "8 bytes!"u8.CopyTo(datagram[ClearHeader.Size..]);
        var header = new ClearHeader(PacketType.Data, router.RemoteIndex, 0, 5);
        router.Sender.Seal(datagram, ClearHeader.Size, 8, header.Nonce);
        if (!proxy.Receiver.TryOpen(datagram, ClearHeader.Size, header.Nonce, out var plain) || plain != 8)
        {
            throw new FuzzInvariantException("the proxy cannot open what the router sealed after a completed handshake");
        }
    }

    private static byte[] Xor(ReadOnlySpan<byte> message, ReadOnlySpan<byte> data)
    {
        var result = message.ToArray();
        for (var i = 0; i < data.Length && i < result.Length; i++)
        {
            result[i] ^= data[i];
        }
        // Data longer than the message extends it (a wrong length is a case too).
        return data.Length > result.Length ? [.. result, .. data[result.Length..]] : result;
    }

    private static byte[] Repaired(ReadOnlySpan<byte> data, int size, StaticPublicKey receiver, bool repair)
    {
        var message = data.ToArray();
        if (repair && message.Length == size)
        {
            RepairMac1(message, receiver);
        }
        return message;
    }

    /// <summary>Recomputes mac1 (anyone can: it is keyed by the receiver's public key), so mutations reach the Noise layer.</summary>
    private static void RepairMac1(byte[] message, StaticPublicKey receiver)
    {
        if (message.Length < ClearHeader.Size + 2 * HandshakeMacs.MacLength)
        {
            return;
        }
        var mac1At = message.Length - 2 * HandshakeMacs.MacLength;
        HandshakeMacs.Compute(HandshakeMacs.Mac1Key(receiver), message.AsSpan(ClearHeader.Size, mac1At - ClearHeader.Size), message.AsSpan(mac1At, HandshakeMacs.MacLength));
    }
}
