using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Fuzz;

/// <summary>
/// Writes the seed corpus (fuzz/corpus/TARGET/): one example of every packet type as the engines really send
/// them, the same sealed under the fixed transport keys, valid handshake messages for the fixed static keys,
/// and a few edge cases. Deterministic apart from ephemeral keys and random nonces, which do not matter here.
/// </summary>
internal static class Seeds
{
    public static void Write(string root)
    {
        var datagram = Path.Combine(root, "datagram");
        var handshake = Path.Combine(root, "handshake");
        Directory.CreateDirectory(datagram);
        Directory.CreateDirectory(handshake);

        // Whatever two engines exchange while setting up and carrying a little data, one file per (type, length).
        var seen = new HashSet<(int, int)>();
        var exchanged = new List<byte[]>();
        var (router, proxy) = Targets.PrimedPair(out _, d =>
        {
            if (seen.Add((d[0] & 0x0F, d.Length)) && seen.Count <= 24)
            {
                exchanged.Add(d);
            }
        });
        _ = (router, proxy);
        // A probe too (the short exchange sends none).
        var probe = new byte[ClearHeader.Size + ProbeFrame.MinSize + 8 + ChaChaPolySeal.TagSize];
        new ClearHeader(PacketType.Probe, 2, 1, 3).Write(probe);
        ProbeFrame.Write(probe.AsSpan(ClearHeader.Size), 5, ProbeFrame.RepairsFollow, 8);
        exchanged.Add(probe);
        for (var i = 0; i < exchanged.Count; i++)
        {
            var type = (PacketType)(exchanged[i][0] & 0x0F);
            // Later packet numbers than the primed engines have seen, so the copies are not mere duplicates.
            var copy = (byte[])exchanged[i].Clone();
            WireInt.WriteUInt48(copy.AsSpan(6), WireInt.ReadUInt48(copy.AsSpan(6)) + 40);
            File.WriteAllBytes(Path.Combine(datagram, $"peer-{i:00}-{type}"), copy);
        }

        // The same frames sealed under the fixed keys, addressed to the proxy's index: they open in the proxy view.
        var n = 0;
        using (var keys = FuzzKeys.NewRouterKeys(0))
        {
            foreach (var d in exchanged)
            {
                var type = (PacketType)(d[0] & 0x0F);
                if (type is not (PacketType.Data or PacketType.DataExpress or PacketType.DataExpressOnPath or PacketType.Ack or PacketType.Probe))
                {
                    continue;
                }
                var sealedCopy = (byte[])d.Clone();
                if (!ClearHeader.TryParse(d, out var h, out _))
                {
                    continue;
                }
                var header = h with { ReceiverSessionId = FuzzKeys.ProxyIndex, PathId = (byte)(h.PathId % FuzzKeys.Paths) };
                header.Write(sealedCopy);
                keys.Sender.Seal(sealedCopy, ClearHeader.Size, d.Length - ClearHeader.Size - ChaChaPolySeal.TagSize, header.Nonce);
                File.WriteAllBytes(Path.Combine(datagram, $"sealed-{n++:00}-{type}"), sealedCopy);
            }
            var close = new byte[ClearHeader.Size + 1 + ChaChaPolySeal.TagSize];
            var closeHeader = new ClearHeader(PacketType.Close, FuzzKeys.ProxyIndex, 1, 99);
            closeHeader.Write(close);
            ControlFrames.WriteClose(close.AsSpan(ClearHeader.Size), 0);
            keys.Sender.Seal(close, ClearHeader.Size, 1, closeHeader.Nonce);
            File.WriteAllBytes(Path.Combine(datagram, "sealed-close"), close);
        }

        // Handshake messages for the fixed keys.
        var jar = new CookieJar(FuzzKeys.Paths);
        using var initiator = new HandshakeInitiator(FuzzKeys.Router, FuzzKeys.Proxy.PublicKey, 0x0A0B_0C0D, FuzzKeys.Paths, 1472, 1, jar);
        var initiation = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(initiation, 0, 0, 0);
        File.WriteAllBytes(Path.Combine(datagram, "initiation"), initiation);
        using (var responder = new HandshakeResponder(FuzzKeys.Proxy))
        {
            responder.TryReadInitiation(initiation, out var hs, out _);
            using (hs)
            {
                var response = new byte[HandshakeResponse.Size];
                hs!.WriteResponse(0x0102_0304, response, 0, 0, out var k);
                k.Dispose();
                File.WriteAllBytes(Path.Combine(datagram, "response"), response);
                File.WriteAllBytes(Path.Combine(handshake, "4-response-shape"), [0x04, .. response]);
            }
            var cookie = new byte[CookieReply.Size];
            responder.Cookies.WriteCookieReply(initiation, new byte[18], cookie, 0);
            File.WriteAllBytes(Path.Combine(datagram, "cookie-reply"), cookie);
            File.WriteAllBytes(Path.Combine(handshake, "5-cookie-shape"), [0x05, .. cookie]);
        }
        File.WriteAllBytes(Path.Combine(handshake, "0-valid-initiation"), [0x00, .. initiation]);
        File.WriteAllBytes(Path.Combine(handshake, "0-initiation-mac1-repaired"), [0x08, .. initiation]);
        File.WriteAllBytes(Path.Combine(handshake, "1-unchanged"), [0x01]);
        File.WriteAllBytes(Path.Combine(handshake, "1-flip-payload-mac1-repaired"), [0x09, .. new byte[100], 0x01]);
        File.WriteAllBytes(Path.Combine(handshake, "2-unchanged"), [0x02]);
        File.WriteAllBytes(Path.Combine(handshake, "2-flip-payload-mac1-repaired"), [0x0A, .. new byte[50], 0x80]);
        File.WriteAllBytes(Path.Combine(handshake, "3-unchanged"), [0x03]);
        File.WriteAllBytes(Path.Combine(handshake, "6-two-paths"), [0x06, 2, 0x05, 0xC0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 7, 0, 0]);

        // Edges: nothing, a bare header, every type with nothing after its header.
        File.WriteAllBytes(Path.Combine(datagram, "empty"), []);
        for (var type = 0; type < 16; type++)
        {
            var bare = new byte[ClearHeader.Size];
            bare[0] = (byte)(0x10 | type);
            File.WriteAllBytes(Path.Combine(datagram, $"bare-type-{type:00}"), bare);
        }
    }
}
