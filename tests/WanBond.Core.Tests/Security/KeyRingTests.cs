using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

public sealed class KeyRingTests : IDisposable
{
    private const long Second = 1_000_000;

    private readonly SecurityHarness _h = new();
    private readonly KeyRing _router = new();
    private readonly KeyRing _proxy = new();

    public void Dispose()
    {
        _router.Dispose();
        _proxy.Dispose();
        _h.Dispose();
    }

    private void Handshake(uint routerIndex, uint proxyIndex, long nowUs, ulong timestamp)
    {
        var (i, r) = _h.Handshake(routerIndex, proxyIndex, nowUs, timestamp);
        _router.Install(i, nowUs);
        _proxy.Install(r, nowUs);
    }

    private static bool Deliver(KeyRing to, byte[] datagram, long nowUs, out DropReason reason)
    {
        var copy = (byte[])datagram.Clone();
        return to.TryOpen(copy, ClearHeader.Size, SecurityHarness.NonceOf(copy), nowUs, out _, out reason);
    }

    [Fact]
    public void Responder_sends_only_after_the_initiator_confirms_the_keys()
    {
        Handshake(10, 20, 0, 1);
        Assert.True(_router.CanSend(0));
        Assert.Equal(20u, _router.SendIndex);
        Assert.False(_proxy.CanSend(0));
        Assert.NotNull(_proxy.Next);
        Assert.Throws<InvalidOperationException>(() => SecurityHarness.SealThrough(_proxy, 0, 0, [1]));

        var first = SecurityHarness.SealThrough(_router, 0, 0, [0x45, 1, 2]);
        Assert.True(Deliver(_proxy, first, 1, out _));
        Assert.Null(_proxy.Next);
        Assert.True(_proxy.CanSend(1));
        Assert.Equal(10u, _proxy.SendIndex);

        var reply = SecurityHarness.SealThrough(_proxy, 1, 0, [0x45, 9]);
        Assert.True(Deliver(_router, reply, 2, out _));
    }

    [Fact]
    public void Open_reports_replay_unknown_index_and_forgery_with_their_reasons()
    {
        Handshake(10, 20, 0, 1);
        var d = SecurityHarness.SealThrough(_router, 2, 77, [0x45, 1, 2, 3]);
        Assert.True(Deliver(_proxy, d, 0, out var reason));
        Assert.Equal(DropReason.None, reason);

        Assert.False(Deliver(_proxy, d, 0, out reason));
        Assert.Equal(DropReason.Duplicate, reason);

        var forged = SecurityHarness.SealThrough(_router, 2, 78, [0x45, 1, 2, 3]);
        forged[^1] ^= 1;
        Assert.False(Deliver(_proxy, forged, 0, out reason));
        Assert.Equal(DropReason.AuthenticationFailed, reason);

        // The forgery did not burn packet number 78: the genuine packet still opens.
        var genuine = SecurityHarness.SealThrough(_router, 2, 79, [0x45]);
        Assert.True(Deliver(_proxy, genuine, 0, out _));

        var unknown = (byte[])genuine.Clone();
        unknown[1] ^= 0x40;
        Assert.False(Deliver(_proxy, unknown, 0, out reason));
        Assert.Equal(DropReason.UnknownSession, reason);

        Assert.False(_proxy.TryOpen(new byte[8], ClearHeader.Size, 0, 0, out _, out reason));
        Assert.Equal(DropReason.Truncated, reason);
    }

    [Fact]
    public void Forged_packet_with_a_fresh_number_does_not_burn_it()
    {
        Handshake(10, 20, 0, 1);
        var genuine = SecurityHarness.SealThrough(_router, 0, 5, [0x45]);
        var forged = (byte[])genuine.Clone();
        forged[ClearHeader.Size] ^= 0xFF;
        Assert.False(Deliver(_proxy, forged, 0, out _));
        Assert.True(Deliver(_proxy, genuine, 0, out _));
    }

    [Fact]
    public void Seal_refuses_a_header_that_names_other_keys()
    {
        Handshake(10, 20, 0, 1);
        var datagram = new byte[ClearHeader.Size + 4 + 16];
        new ClearHeader(PacketType.Data, 999, 0, 0).Write(datagram);
        Assert.Throws<InvalidOperationException>(() => _router.Seal(datagram, ClearHeader.Size, 4, 0));
    }

    [Fact]
    public void Rekey_is_due_after_two_minutes_for_the_initiator_only()
    {
        Assert.True(_router.NeedsRekey(0)); // no keys at all
        Handshake(10, 20, 0, 1);
        Assert.False(_router.NeedsRekey(119 * Second));
        Assert.True(_router.NeedsRekey(120 * Second));
        Assert.Equal(120 * Second, _router.NextTimerUs);
        var confirm = SecurityHarness.SealThrough(_router, 0, 0, [1]);
        Assert.True(Deliver(_proxy, confirm, 1, out _));
        Assert.False(_proxy.NeedsRekey(150 * Second)); // responders never initiate
    }

    [Fact]
    public void Rekey_after_message_limit()
    {
        using var ring = new KeyRing(new RekeyPolicy { RekeyAfterMessages = 3 });
        var (i, r) = _h.Handshake(1, 2, 0);
        r.Dispose();
        ring.Install(i, 0);
        for (ulong pn = 0; pn < 3; pn++)
        {
            Assert.False(ring.NeedsRekey(0));
            SecurityHarness.SealThrough(ring, 0, pn, [1]);
        }

        Assert.True(ring.NeedsRekey(0));
    }

    [Fact]
    public void Traffic_in_flight_across_a_rekey_is_not_dropped()
    {
        Handshake(10, 20, 0, 1);
        Assert.True(Deliver(_proxy, SecurityHarness.SealThrough(_router, 0, 0, [1]), 0, out _));

        // Packets sealed under the old keys, still in flight on a slow path, in both directions.
        var oldUp = SecurityHarness.SealThrough(_router, 1, 100, [0x45, 1]);
        var oldDown = SecurityHarness.SealThrough(_proxy, 1, 100, [0x45, 2]);

        long t = 120 * Second;
        Handshake(11, 21, t, 2);
        Assert.Equal(21u, _router.SendIndex); // initiator switches at once
        Assert.Equal(10u, _proxy.SendIndex);  // responder waits for confirmation

        // Responder still sends under the old keys; the initiator opens them with its previous keys.
        var lateDown = SecurityHarness.SealThrough(_proxy, 1, 101, [0x45, 3]);
        Assert.True(Deliver(_router, lateDown, t + 1, out _));

        // First datagram under the new keys confirms them at the responder.
        var newUp = SecurityHarness.SealThrough(_router, 0, 1, [0x45, 4]);
        Assert.True(Deliver(_proxy, newUp, t + 2, out _));
        Assert.Equal(11u, _proxy.SendIndex);

        // The old in-flight packets still open during the grace period.
        Assert.True(Deliver(_proxy, oldUp, t + 3 * Second, out _));
        Assert.True(Deliver(_router, oldDown, t + 3 * Second, out _));

        // After the grace period the previous keys are gone.
        var underNewKeys = SecurityHarness.SealThrough(_proxy, 2, 5, [0x45]);
        _router.Expire(t + _router.Policy.PreviousKeyGraceUs);
        _proxy.Expire(t + 2 + _proxy.Policy.PreviousKeyGraceUs);
        Assert.Null(_router.Previous);
        Assert.Null(_proxy.Previous);
        Assert.True(Deliver(_router, underNewKeys, t + 40 * Second, out _));
        Assert.False(Deliver(_router, oldDown, t + 40 * Second, out var reason));
        Assert.Equal(DropReason.UnknownSession, reason);

        Span<uint> retired = stackalloc uint[4];
        int n = _router.DrainRetiredIndices(retired);
        Assert.Equal(1, n);
        Assert.Equal(10u, retired[0]);
        Assert.Equal(0, _router.DrainRetiredIndices(retired));
        Assert.True(_router.OwnsIndex(11));
        Assert.False(_router.OwnsIndex(10));
    }

    [Fact]
    public void Keys_are_rejected_after_three_minutes()
    {
        Handshake(10, 20, 0, 1);
        Assert.True(Deliver(_proxy, SecurityHarness.SealThrough(_router, 0, 0, [1]), 0, out _));
        var late = SecurityHarness.SealThrough(_router, 0, 1, [1]);
        Assert.False(Deliver(_proxy, late, 180 * Second, out var reason));
        Assert.Equal(DropReason.UnknownSession, reason);
        Assert.False(_router.CanSend(180 * Second));
        Assert.True(_router.CanSend(180 * Second - 1));
        _router.Expire(180 * Second);
        Assert.Null(_router.Current);
        Assert.Equal(0u, _router.SendIndex);
    }

    [Fact]
    public void A_newer_unconfirmed_handshake_replaces_the_pending_one()
    {
        Handshake(10, 20, 0, 1);
        Handshake(11, 21, 1, 2);
        Assert.Equal(21u, _proxy.Next!.LocalIndex);
        Assert.False(_proxy.OwnsIndex(20));
        Assert.True(Deliver(_proxy, SecurityHarness.SealThrough(_router, 0, 0, [1]), 2, out _));
        Assert.Equal(11u, _proxy.SendIndex);
    }

    [Fact]
    public void Works_as_the_engine_seal_through_the_interface()
    {
        Handshake(10, 20, 0, 1);
        Assert.IsAssignableFrom<IPacketSeal>(_router);
        var seal = _router;
        var open = _proxy;
        Assert.Equal(16, seal.TagLength);
        var datagram = new byte[ClearHeader.Size + 8 + 16];
        var header = new ClearHeader(PacketType.Probe, _router.SendIndex, 1, 3);
        header.Write(datagram);
        int n = seal.Seal(datagram, ClearHeader.Size, 8, header.Nonce);
        Assert.True(open.TryOpen(datagram.AsSpan(0, n), ClearHeader.Size, header.Nonce, out int plain));
        Assert.Equal(8, plain);
        Assert.False(open.TryOpen(datagram.AsSpan(0, n), ClearHeader.Size, header.Nonce, out _));
    }
}
