using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

public sealed class HandshakeTests : IDisposable
{
    private readonly SecurityHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Both_sides_derive_matching_keys_and_handshake_hash()
    {
        using var initiator = _h.NewInitiator(0x1111);
        var buffer = new byte[256];
        int n = initiator.WriteInitiation(buffer, 2, 0, 1000);
        Assert.Equal(HandshakeInitiation.Size, n);
        Assert.Equal(159, n);

        Assert.True(_h.Responder.TryReadInitiation(buffer.AsSpan(0, n), out var handshake, out var reason));
        Assert.Equal(DropReason.None, reason);
        using (handshake)
        {
            Assert.Equal(_h.Router.PublicKey, handshake!.InitiatorStatic);
            Assert.Equal(0x1111u, handshake.InitiatorIndex);
            Assert.Equal(SecurityHarness.Paths, handshake.PathCount);
            Assert.Equal((ushort)1400, handshake.MaxDatagramSize);
            Assert.Equal(1UL, handshake.Timestamp);
            Assert.Equal((byte)2, handshake.PathId);

            n = handshake.WriteResponse(0x2222, buffer, 0, 1000, out var responderKeys);
            Assert.Equal(101, n);
            Assert.True(ClearHeader.TryParse(buffer, out var header, out _));
            Assert.Equal(0x1111u, header.ReceiverSessionId);
            Assert.Equal((byte)2, header.PathId);

            Assert.True(initiator.TryReadResponse(buffer.AsSpan(0, n), 1000, out var initiatorKeys, out reason));
            Assert.True(initiator.IsComplete);
            Assert.Equal(handshake.HandshakeHash.ToArray(), initiator.HandshakeHash.ToArray());
            using (responderKeys)
            using (initiatorKeys)
            {
                Assert.Equal(0x1111u, initiatorKeys!.LocalIndex);
                Assert.Equal(0x2222u, initiatorKeys.RemoteIndex);
                Assert.Equal(0x2222u, responderKeys.LocalIndex);
                Assert.Equal(0x1111u, responderKeys.RemoteIndex);
                Assert.True(initiatorKeys.IsInitiator);
                Assert.False(responderKeys.IsInitiator);

                AssertSealsOpen(initiatorKeys.Sender, responderKeys.Receiver);
                AssertSealsOpen(responderKeys.Sender, initiatorKeys.Receiver);
                AssertDoesNotOpen(initiatorKeys.Sender, initiatorKeys.Receiver); // directions differ
            }
        }
    }

    [Fact]
    public void Each_handshake_has_fresh_ephemerals_so_keys_differ()
    {
        var (i1, r1) = _h.Handshake(1, 2, 0, timestamp: 1);
        var (i2, r2) = _h.Handshake(1, 2, 0, timestamp: 2);
        using (i1)
        using (r1)
        using (i2)
        using (r2)
        {
            AssertDoesNotOpen(i1.Sender, r2.Receiver);
            AssertSealsOpen(i2.Sender, r2.Receiver);
        }
    }

    [Fact]
    public void Initiation_differs_per_attempt_so_the_router_is_not_trackable_by_it()
    {
        using var a = _h.NewInitiator(7);
        using var b = _h.NewInitiator(7);
        var ma = new byte[HandshakeInitiation.Size];
        var mb = new byte[HandshakeInitiation.Size];
        a.WriteInitiation(ma, 0, 0, 0);
        b.WriteInitiation(mb, 0, 0, 0);
        // Same router, same index: ephemeral and encrypted static still differ entirely.
        Assert.NotEqual(ma.AsSpan(HandshakeInitiation.NoiseOffset, 80).ToArray(), mb.AsSpan(HandshakeInitiation.NoiseOffset, 80).ToArray());
        // And the router's static key does not appear in the clear.
        var pub = _h.Router.PublicKey.ToArray();
        Assert.Equal(-1, ma.AsSpan().IndexOf(pub));
    }

    [Fact]
    public void Initiation_to_the_wrong_proxy_key_is_rejected()
    {
        using var otherProxy = StaticKeyPair.Generate();
        using var initiator = _h.NewInitiator(5, proxyKey: otherProxy.PublicKey);
        var buffer = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(buffer, 0, 0, 0);
        Assert.Equal(MacCheck.Invalid, _h.Responder.Cookies.Check(buffer, [1, 2, 3, 4], underLoad: false, 0));
        Assert.False(_h.Responder.TryReadInitiation(buffer, out var handshake, out var reason));
        Assert.Null(handshake);
        Assert.Equal(DropReason.AuthenticationFailed, reason);
    }

    [Fact]
    public void Noise_itself_rejects_a_wrong_responder_static_key()
    {
        // Below the mac1 gate: an IK message 1 made for another responder does not decrypt.
        using var other = StaticKeyPair.Generate();
        using var initiator = NoiseIK.CreateInitiator(_h.Router, other.PublicKey, HandshakeInitiator.Prologue);
        using var responder = NoiseIK.CreateResponder(_h.Proxy, HandshakeInitiator.Prologue);
        var m1 = new byte[200];
        int n = initiator.WriteMessage1([1, 2, 3], m1);
        Assert.False(responder.TryReadMessage1(m1.AsSpan(0, n), new byte[16], out _));
        Assert.False(responder.IsComplete);
    }

    [Fact]
    public void Noise_rejects_a_different_prologue()
    {
        using var initiator = NoiseIK.CreateInitiator(_h.Router, _h.Proxy.PublicKey, "wanbond v2"u8);
        using var responder = NoiseIK.CreateResponder(_h.Proxy, HandshakeInitiator.Prologue);
        var m1 = new byte[200];
        int n = initiator.WriteMessage1([], m1);
        Assert.False(responder.TryReadMessage1(m1.AsSpan(0, n), new byte[16], out _));
    }

    [Fact]
    public void Any_tampered_byte_of_the_initiation_body_is_rejected()
    {
        using var initiator = _h.NewInitiator(9);
        var original = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(original, 0, 0, 0);
        for (int i = ClearHeader.Size; i < HandshakeInitiation.Mac2Offset; i++)
        {
            var m = (byte[])original.Clone();
            m[i] ^= 0x20;
            Assert.False(_h.Responder.TryReadInitiation(m, out _, out var reason), $"byte {i}");
            Assert.NotEqual(DropReason.None, reason);
        }
    }

    [Fact]
    public void Tampering_with_mac1_recomputed_still_fails_in_noise()
    {
        // An attacker who knows the proxy's public key can recompute mac1, but not the Noise ciphertexts.
        using var initiator = _h.NewInitiator(9);
        var mac1Key = HandshakeMacs.Mac1Key(_h.Proxy.PublicKey);
        foreach (int offset in new[] { HandshakeInitiation.NoiseOffset, HandshakeInitiation.NoiseOffset + 40, HandshakeInitiation.Mac1Offset - 1 })
        {
            var m = new byte[HandshakeInitiation.Size];
            initiator.WriteInitiation(m, 0, 0, 0);
            m[offset] ^= 1;
            HandshakeMacs.Write(m, mac1Key, default);
            Assert.Equal(MacCheck.Valid, _h.Responder.Cookies.Check(m, [1], underLoad: false, 0));
            Assert.False(_h.Responder.TryReadInitiation(m, out _, out var reason));
            Assert.Equal(DropReason.AuthenticationFailed, reason);
        }
    }

    [Fact]
    public void A_rewritten_clear_sender_index_is_caught_by_the_authenticated_copy()
    {
        using var initiator = _h.NewInitiator(0x0A0B0C0D);
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);
        m[HandshakeInitiation.SenderIndexOffset + 3] ^= 0xFF;
        HandshakeMacs.Write(m, HandshakeMacs.Mac1Key(_h.Proxy.PublicKey), default);
        Assert.False(_h.Responder.TryReadInitiation(m, out _, out var reason));
        Assert.Equal(DropReason.AuthenticationFailed, reason);
    }

    [Fact]
    public void Replayed_initiation_is_rejected_by_the_peer_timestamp_guard()
    {
        var guard = new InitiationReplayGuard();
        using var initiator = _h.NewInitiator(3, timestamp: 1_700_000_000_000_000);
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);

        Assert.True(_h.Responder.TryReadInitiation(m, out var first, out _));
        using (first)
        {
            Assert.True(guard.TryAdvance(first!.Timestamp));
        }

        // The very same bytes again (an attacker's capture, or the copy sent on another path).
        Assert.True(_h.Responder.TryReadInitiation(m, out var replay, out _));
        using (replay)
        {
            Assert.False(guard.TryAdvance(replay!.Timestamp));
        }

        // A genuinely newer attempt is accepted.
        using var later = _h.NewInitiator(4, timestamp: 1_700_000_000_000_001);
        later.WriteInitiation(m, 0, 0, 0);
        Assert.True(_h.Responder.TryReadInitiation(m, out var fresh, out _));
        using (fresh)
        {
            Assert.True(guard.TryAdvance(fresh!.Timestamp));
        }
    }

    [Fact]
    public void Forged_response_does_not_spoil_the_attempt_and_the_real_one_still_completes()
    {
        using var initiator = _h.NewInitiator(0x77);
        var buffer = new byte[256];
        int n = initiator.WriteInitiation(buffer, 0, 0, 0);
        Assert.True(_h.Responder.TryReadInitiation(buffer.AsSpan(0, n), out var handshake, out _));
        using (handshake)
        {
            var response = new byte[HandshakeResponse.Size];
            handshake!.WriteResponse(0x88, response, 0, 0, out var keys);
            using (keys)
            {
                // Forgery with a correct mac1 (the router's public key is not secret) but altered ciphertext.
                var forged = (byte[])response.Clone();
                forged[HandshakeResponse.NoiseOffset + 40] ^= 1;
                HandshakeMacs.Write(forged, HandshakeMacs.Mac1Key(_h.Router.PublicKey), default);
                Assert.False(initiator.TryReadResponse(forged, 0, out var none, out var reason));
                Assert.Null(none);
                Assert.Equal(DropReason.AuthenticationFailed, reason);

                // Wrong mac1.
                var badMac = (byte[])response.Clone();
                badMac[HandshakeResponse.Mac1Offset] ^= 1;
                Assert.False(initiator.TryReadResponse(badMac, 0, out _, out reason));
                Assert.Equal(DropReason.AuthenticationFailed, reason);

                // Addressed to another index.
                var other = (byte[])response.Clone();
                other[4] ^= 1;
                Assert.False(initiator.TryReadResponse(other, 0, out _, out reason));
                Assert.Equal(DropReason.UnknownSession, reason);

                Assert.False(initiator.IsComplete);
                Assert.True(initiator.TryReadResponse(response, 0, out var good, out reason));
                using (good)
                {
                    AssertSealsOpen(good!.Sender, keys.Receiver);
                }

                // Replaying the response after completion is refused.
                Assert.False(initiator.TryReadResponse(response, 0, out _, out reason));
                Assert.Equal(DropReason.UnknownSession, reason);
            }
        }
    }

    [Fact]
    public void Response_from_an_impostor_proxy_is_rejected()
    {
        // The impostor knows the router's public key (so mac1 is right) but not the real proxy's private key.
        using var impostor = StaticKeyPair.Generate();
        using var impostorResponder = new HandshakeResponder(impostor);
        using var initiator = _h.NewInitiator(0x31);
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);
        // The impostor cannot even read the initiation (it is for the real proxy).
        Assert.False(impostorResponder.TryReadInitiation(m, out _, out _));

        // It answers with a handshake of its own instead.
        using var bait = new HandshakeInitiator(_h.Router, impostor.PublicKey, 0x31, SecurityHarness.Paths, 1400, 1, new CookieJar(3));
        bait.WriteInitiation(m, 0, 0, 0);
        Assert.True(impostorResponder.TryReadInitiation(m, out var hs, out _));
        using (hs)
        {
            var response = new byte[HandshakeResponse.Size];
            hs!.WriteResponse(0x99, response, 0, 0, out var k);
            k.Dispose();
            Assert.False(initiator.TryReadResponse(response, 0, out _, out var reason));
            Assert.Equal(DropReason.AuthenticationFailed, reason);
        }
    }

    [Fact]
    public void Path_count_disagreement_is_refused()
    {
        using var initiator = new HandshakeInitiator(_h.Router, _h.Proxy.PublicKey, 0x41, 2, 1400, 1, new CookieJar(2));
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);
        Assert.True(_h.Responder.TryReadInitiation(m, out var hs, out _));
        using (hs)
        {
            Assert.Equal((byte)2, hs!.PathCount);
        }

        // A response claiming another path count is authentic but unusable.
        Assert.Equal(DropReason.BadPath, ReadResponseWithPathCount(3));
    }

    [Theory]
    [InlineData(HandshakeInitiation.MaxPathCount, true)]
    [InlineData(HandshakeInitiation.MaxPathCount + 1, false)]
    [InlineData(32, false)]
    [InlineData(255, false)]
    public void An_initiation_asking_for_more_paths_than_a_session_can_have_is_refused(int pathCount, bool accepted)
    {
        // An authentic initiation from a configured router asking for 9 paths used to reach the session constructor,
        // which threw on the proxy's engine thread (found by the fuzzer).
        using var initiator = new HandshakeInitiator(_h.Router, _h.Proxy.PublicKey, 0x42, (byte)pathCount, 1400, 1, new CookieJar(pathCount));
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);
        Assert.Equal(accepted, _h.Responder.TryReadInitiation(m, out var hs, out var reason));
        hs?.Dispose();
        Assert.Equal(accepted ? DropReason.None : DropReason.BadPath, reason);
    }

    private DropReason ReadResponseWithPathCount(byte responderPathCount)
    {
        // Initiator expects 2 paths; a responder that (wrongly) answers with another count.
        using var initiator = new HandshakeInitiator(_h.Router, _h.Proxy.PublicKey, 0x42, 2, 1400, 1, new CookieJar(2));
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);
        using var hsNoise = NoiseIK.CreateResponder(_h.Proxy, HandshakeInitiator.Prologue);
        var payload = new byte[HandshakeInitiation.PayloadLength];
        Assert.True(hsNoise.TryReadMessage1(m.AsSpan(HandshakeInitiation.NoiseOffset, HandshakeInitiation.NoiseLength), payload, out _));
        var response = new byte[HandshakeResponse.Size];
        new ClearHeader(PacketType.HandshakeResponse, 0x42, 0, 0).Write(response);
        var replyPayload = new byte[ControlFrames.HelloReplySize];
        ControlFrames.WriteHelloReply(replyPayload, 0x42, 0x43, responderPathCount);
        hsNoise.WriteMessage2(replyPayload, response.AsSpan(HandshakeResponse.NoiseOffset, HandshakeResponse.NoiseLength));
        HandshakeMacs.Write(response, HandshakeMacs.Mac1Key(_h.Router.PublicKey), default);
        Assert.False(initiator.TryReadResponse(response, 0, out var keys, out var reason));
        Assert.Null(keys);
        return reason;
    }

    [Fact]
    public void Responder_keeps_no_state_from_initiations()
    {
        // Thousands of garbage and valid-looking initiations: the responder object holds nothing per message
        // (it has no collections at all); each decrypted initiation is its own disposable object.
        using var initiator = _h.NewInitiator(1);
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);
        var rng = new Random(1);
        var garbage = new byte[HandshakeInitiation.Size];
        long allocated = -1;
        int invalid = 0;
        int rejected = 0;
        for (int round = 0; round < 2; round++)
        {
            // Round 0 warms up (JIT, static initialisation); round 1 is measured.
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                rng.NextBytes(garbage);
                garbage[0] = (1 << 4) | (byte)PacketType.HandshakeInitiation;
                garbage[1] = garbage[2] = garbage[3] = garbage[4] = 0;
                invalid += _h.Responder.Cookies.Check(garbage, [9, 9], underLoad: false, 0) == MacCheck.Invalid ? 1 : 0;
                rejected += _h.Responder.TryReadInitiation(garbage, out _, out var reason) || reason != DropReason.AuthenticationFailed ? 0 : 1;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(2000, invalid);
        Assert.Equal(2000, rejected);
        // Rejecting garbage at mac1 costs no allocation: nothing accumulates.
        Assert.Equal(0, allocated);
    }

    internal static void AssertSealsOpen(ChaChaPolySeal sender, ChaChaPolySeal receiver)
    {
        var datagram = new byte[ClearHeader.Size + 20 + 16];
        new ClearHeader(PacketType.Data, 1, 0, 5).Write(datagram);
        datagram[ClearHeader.Size] = 0x45;
        int n = sender.Seal(datagram, ClearHeader.Size, 20, 5);
        Assert.True(receiver.TryOpen(datagram.AsSpan(0, n), ClearHeader.Size, 5, out int plain));
        Assert.Equal(20, plain);
        Assert.Equal(0x45, datagram[ClearHeader.Size]);
    }

    internal static void AssertDoesNotOpen(ChaChaPolySeal sender, ChaChaPolySeal receiver)
    {
        var datagram = new byte[ClearHeader.Size + 20 + 16];
        int n = sender.Seal(datagram, ClearHeader.Size, 20, 5);
        Assert.False(receiver.TryOpen(datagram.AsSpan(0, n), ClearHeader.Size, 5, out _));
    }
}
