using WanBond.Core.Security;
using WanBond.Core.Sessions;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Sessions;

/// <summary>
/// Two engines with the security layer on, joined by <see cref="EngineHarness"/>; the proxy side's
/// handshake front does what the proxy daemon does (docs/security.md, "Denial of service").
/// </summary>
public sealed class SecureSessionTests : IDisposable
{
    private const long Mbit = 125_000;

    private readonly StaticKeyPair _routerKey = StaticKeyPair.Generate();
    private readonly StaticKeyPair _proxyKey = StaticKeyPair.Generate();

    public void Dispose()
    {
        _routerKey.Dispose();
        _proxyKey.Dispose();
    }

    /// <summary>The proxy daemon's handshake work for one configured peer, in the documented order (no load: no cookies).</summary>
    private sealed class ProxyFront(StaticKeyPair proxyKey, StaticPublicKey allowedPeer, Func<Session> proxySession) : IDisposable
    {
        private readonly HandshakeResponder _responder = new(proxyKey);
        private readonly InitiationReplayGuard _guard = new();

        public DropCounters Refused { get; } = new();

        public long Answered { get; private set; }

        /// <summary>Pretend the proxy is under load: initiations without a valid mac2 get a cookie reply.</summary>
        public bool UnderLoad { get; set; }

        public long CookiesSent { get; private set; }

        public (bool, byte[]?) Handle(int path, byte[] datagram, long nowUs)
        {
            if (!ClearHeader.TryParse(datagram, out var header, out _) || header.Type != PacketType.HandshakeInitiation)
            {
                return (false, null);
            }
            byte[] source = [10, 0, 0, (byte)path, 0x1E, 0x14]; // each path has its own address, as behind its modem's NAT
            switch (_responder.Cookies.Check(datagram, source, UnderLoad, nowUs))
            {
                case MacCheck.Invalid:
                    Refused.Increment(DropReason.AuthenticationFailed);
                    return (true, null);
                case MacCheck.CookieRequired:
                    var reply = new byte[CookieReply.Size];
                    _responder.Cookies.WriteCookieReply(datagram, source, reply, nowUs);
                    CookiesSent++;
                    return (true, reply);
            }
            if (!_responder.TryReadInitiation(datagram, out var hs, out var reason) || hs is null)
            {
                Refused.Increment(reason);
                return (true, null);
            }
            using (hs)
            {
                if (hs.InitiatorStatic != allowedPeer)
                {
                    Refused.Increment(DropReason.UnknownSession);
                    return (true, null);
                }
                if (!_guard.TryAdvance(hs.Timestamp))
                {
                    Refused.Increment(DropReason.Duplicate);
                    return (true, null);
                }
                var answer = new byte[HandshakeResponse.Size];
                proxySession().AcceptHandshake(hs, TransportKeys.RandomIndex(), answer, nowUs);
                Answered++;
                return (true, answer);
            }
        }

        public void Dispose() => _responder.Dispose();
    }

    private EngineHarness Secured(long[] rates, long[] delays, RekeyPolicy? policy, out ProxyFront front, StaticKeyPair? routerKey = null, StaticPublicKey? proxyPublic = null)
    {
        Session? proxy = null;
        var h = new EngineHarness(rates, delays, options => (
            new Session(options, SessionSecurity.ForInitiator(routerKey ?? _routerKey, proxyPublic ?? _proxyKey.PublicKey, 1_700_000_000_000_000, policy), SessionRole.Initiator, 0),
            proxy = new Session(options, SessionSecurity.ForResponder(policy), SessionRole.Responder, 0)));
        var f = new ProxyFront(_proxyKey, _routerKey.PublicKey, () => proxy!);
        h.ProxyFront = (path, d) => f.Handle(path, d, h.NowUs);
        front = f;
        return h;
    }

    private static void Stream(EngineHarness h, Session from, int count, long startUs, long everyUs, int firstId)
    {
        for (var i = 0; i < count; i++)
        {
            var id = firstId + i;
            h.At(startUs + i * everyUs, () => { from.SubmitInner(EngineHarness.Packet(id), h.NowUs); h.Kick(from); });
        }
    }

    private static void AssertComplete(List<byte[]> delivered, int firstId, int count, long queueDrops, string what)
    {
        var ids = delivered.Select(EngineHarness.IdOf).Where(i => i >= firstId && i < firstId + count).ToList();
        var info = $"{what}: delivered {ids.Count} of {count}, sender-queue drops {queueDrops}";
        Assert.True(ids.Zip(ids.Skip(1)).All(p => p.First < p.Second), info + " (order)");
        Assert.True(ids.Count + queueDrops == count, info);
    }

    [Fact]
    public void Handshake_on_every_path_then_encrypted_data_both_ways()
    {
        var h = Secured([10 * Mbit, 20 * Mbit], [30_000, 60_000], null, out var front);
        using var _ = front;
        Stream(h, h.Proxy, 1000, 300_000, 2000, 0);
        Stream(h, h.Router, 1000, 300_000, 2000, 100_000);
        h.RunUntil(4_000_000);

        Assert.True(h.Router.IsEstablished && h.Proxy.IsEstablished);
        Assert.Equal(1, h.Router.HandshakesCompleted);
        Assert.Equal(1, front.Answered);
        AssertComplete(h.DeliveredAtRouter, 0, 1000, h.Proxy.SendQueueDrops, "to router");
        AssertComplete(h.DeliveredAtProxy, 100_000, 1000, h.Router.SendQueueDrops, "to proxy");
        Assert.Equal(0, h.Router.Drops.Total);
        Assert.Equal(0, h.Proxy.Drops.Total);

        var types = h.Traffic.Select(t => (PacketType)(t.Datagram[0] & 0x0F)).ToList();
        Assert.DoesNotContain(PacketType.Hello, types);
        Assert.DoesNotContain(PacketType.HelloReply, types);
        // The initiation went out on both paths; the second copy was a replay to the proxy.
        Assert.Equal(2, h.Traffic.Count(t => t.ToProxy && (PacketType)(t.Datagram[0] & 0x0F) == PacketType.HandshakeInitiation));
        Assert.Equal(1, front.Refused[DropReason.Duplicate]);
        // Nothing on the wire shows the inner packets: their fixed UDP header bytes never appear in clear.
        var marker = EngineHarness.Packet(0).AsSpan(0, 24).ToArray();
        Assert.DoesNotContain(h.Traffic, t => t.Datagram.AsSpan().IndexOf(marker.AsSpan(0, 12)) >= 0 && t.Datagram.AsSpan().IndexOf(marker.AsSpan(20, 4)) >= 0);
        // Receiver ids are the key indices.
        Assert.Equal(h.Router.PeerSessionId, h.Proxy.LocalSessionId);
        Assert.Equal(h.Proxy.PeerSessionId, h.Router.LocalSessionId);
    }

    private (EngineHarness H, ProxyFront Front, byte[] RouterData) Established()
    {
        var h = Secured([10 * Mbit, 10 * Mbit], [10_000, 10_000], null, out var front);
        // The 10th data datagram never reaches the proxy: the tests alter it, so the replay check does not decide.
        var handshakeFront = h.ProxyFront!;
        var dataSeen = 0;
        byte[]? withheld = null;
        h.ProxyFront = (path, d) =>
        {
            if ((PacketType)(d[0] & 0x0F) is PacketType.Data or PacketType.DataExpress or PacketType.DataExpressOnPath && ++dataSeen == 10)
            {
                withheld = d;
                return (true, null);
            }
            return handshakeFront(path, d);
        };
        Stream(h, h.Router, 20, 200_000, 5000, 0);
        h.RunUntil(1_000_000);
        Assert.True(h.Proxy.IsEstablished);
        Assert.NotNull(withheld);
        return (h, front, withheld);
    }

    private static void AssertDroppedAs(EngineHarness h, byte[] datagram, DropReason reason, int path = 0)
    {
        var before = h.Proxy.Drops[reason];
        var total = h.Proxy.Drops.Total;
        var delivered = h.DeliveredAtProxy.Count;
        h.Inject(toProxy: true, path, datagram);
        Assert.Equal(before + 1, h.Proxy.Drops[reason]);
        Assert.Equal(total + 1, h.Proxy.Drops.Total);
        Assert.Equal(delivered, h.DeliveredAtProxy.Count);
    }

    [Fact]
    public void Replayed_datagram_is_dropped_as_duplicate()
    {
        var (h, front, data) = Established();
        using var _ = front;
        AssertDroppedAs(h, data, DropReason.Duplicate, data[5]);
    }

    [Fact]
    public void Truncated_datagrams_are_dropped()
    {
        var (h, front, data) = Established();
        using var _ = front;
        AssertDroppedAs(h, data[..(ClearHeader.Size - 1)], DropReason.Truncated, data[5]);
        AssertDroppedAs(h, data[..^1], DropReason.AuthenticationFailed, data[5]);
        AssertDroppedAs(h, data[..(ClearHeader.Size + 4)], DropReason.AuthenticationFailed, data[5]);
    }

    [Fact]
    public void Bit_flipped_datagrams_are_dropped_as_forged()
    {
        var (h, front, data) = Established();
        using var _ = front;
        foreach (var offset in new[] { 11, ClearHeader.Size, ClearHeader.Size + 30, data.Length - 1 })
        {
            var flipped = data.ToArray();
            flipped[offset] ^= 0x40;
            AssertDroppedAs(h, flipped, DropReason.AuthenticationFailed, data[5]);
        }
        // The forgeries did not mark its packet number: the genuine datagram still opens, once (its inner
        // packet may be a duplicate by now: the sender repaired what it took for lost).
        var forged = h.Proxy.Drops[DropReason.AuthenticationFailed];
        var replays = h.Proxy.Drops[DropReason.Duplicate];
        h.Inject(toProxy: true, data[5], data);
        Assert.Equal(forged, h.Proxy.Drops[DropReason.AuthenticationFailed]);
        Assert.True(h.Proxy.Drops[DropReason.Duplicate] <= replays + 1);
        AssertDroppedAs(h, data, DropReason.Duplicate, data[5]);
    }

    [Fact]
    public void Datagrams_under_other_keys_are_dropped()
    {
        var (h, front, data) = Established();
        using var _ = front;
        // Another session's index: no such keys here.
        var foreign = data.ToArray();
        foreign[1] ^= 0xFF;
        AssertDroppedAs(h, foreign, DropReason.UnknownSession, data[5]);
        // Our index but sealed with some other key (here: random ciphertext of the right shape).
        var wrongKey = data.ToArray();
        Random.Shared.NextBytes(wrongKey.AsSpan(ClearHeader.Size));
        wrongKey[11] ^= 0x40; // a packet number not yet seen, so the replay check does not decide it
        AssertDroppedAs(h, wrongKey, DropReason.AuthenticationFailed, data[5]);
    }

    [Fact]
    public void Datagrams_of_another_tunnel_to_the_same_proxy_are_dropped()
    {
        var (h, front, _) = Established();
        using var _f = front;
        var (other, otherFront, otherData) = Established();
        using var _o = otherFront;
        // A datagram that is genuine in the other tunnel (same proxy key, other router key and indices).
        AssertDroppedAs(h, otherData, DropReason.UnknownSession, otherData[5]);
        // Same index as ours (an attacker rewrote it): the key does not open it.
        var relabelled = otherData.ToArray();
        var ours = h.Traffic.Last(t => t.ToProxy && (PacketType)(t.Datagram[0] & 0x0F) is PacketType.Data or PacketType.DataExpress or PacketType.DataExpressOnPath).Datagram;
        ours.AsSpan(1, 4).CopyTo(relabelled.AsSpan(1));
        relabelled[11] ^= 0x40;
        AssertDroppedAs(h, relabelled, DropReason.AuthenticationFailed, otherData[5]);
        Assert.True(other.Proxy.IsEstablished);
    }

    [Fact]
    public void Router_with_an_unknown_key_gets_no_session()
    {
        using var stranger = StaticKeyPair.Generate();
        var h = Secured([10 * Mbit], [10_000], null, out var front, routerKey: stranger);
        using var _ = front;
        h.RunUntil(3_500_000);
        Assert.False(h.Router.IsEstablished);
        Assert.False(h.Proxy.IsEstablished);
        Assert.Equal(0, front.Answered);
        Assert.True(front.Refused[DropReason.UnknownSession] >= 3, "every retry refused");
        Assert.True(h.Router.InitiationsSent >= 3, "the router retries");
    }

    [Fact]
    public void Router_with_a_wrong_proxy_key_gets_no_session()
    {
        using var other = StaticKeyPair.Generate();
        var h = Secured([10 * Mbit], [10_000], null, out var front, proxyPublic: other.PublicKey);
        using var _ = front;
        h.RunUntil(2_500_000);
        Assert.False(h.Router.IsEstablished);
        Assert.Equal(0, front.Answered);
        Assert.True(front.Refused[DropReason.AuthenticationFailed] >= 2, "mac1 fails: no DH work");
    }

    [Fact]
    public void Forged_handshake_response_is_dropped_and_the_real_one_still_works()
    {
        var h = Secured([10 * Mbit], [10_000], null, out var front);
        using var _ = front;
        h.RunUntil(5_000);
        var initiation = h.Traffic.First(t => t.ToProxy).Datagram;
        var forged = new byte[HandshakeResponse.Size];
        Random.Shared.NextBytes(forged);
        new ClearHeader(PacketType.HandshakeResponse, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(initiation.AsSpan(12)), 0, 0).Write(forged);
        h.Inject(toProxy: false, 0, forged);
        Assert.Equal(1, h.Router.Drops[DropReason.AuthenticationFailed]);
        h.RunUntil(500_000);
        Assert.True(h.Router.IsEstablished);
    }

    [Fact]
    public void Rekeys_every_interval_under_traffic_without_losing_a_packet()
    {
        var policy = RekeyPolicy.Default with { RekeyAfterUs = 2_000_000, RejectAfterUs = 3_000_000, PreviousKeyGraceUs = 1_000_000, RekeyTimeoutUs = 500_000 };
        var h = Secured([10 * Mbit, 20 * Mbit], [30_000, 60_000], policy, out var front);
        using var _ = front;
        const int count = 4000;
        Stream(h, h.Proxy, count, 300_000, 2000, 0);
        Stream(h, h.Router, count, 300_000, 2000, 100_000);
        h.RunUntil(9_000_000);

        Assert.True(h.Router.HandshakesCompleted >= 4, $"handshakes {h.Router.HandshakesCompleted}");
        Assert.Equal(h.Router.HandshakesCompleted, front.Answered);
        AssertComplete(h.DeliveredAtRouter, 0, count, h.Proxy.SendQueueDrops, "to router");
        AssertComplete(h.DeliveredAtProxy, 100_000, count, h.Router.SendQueueDrops, "to proxy");
        Assert.Equal(0, h.Router.ReorderSkipped);
        Assert.Equal(0, h.Proxy.ReorderSkipped);
        Assert.Equal(0, h.Router.Drops[DropReason.AuthenticationFailed] + h.Router.Drops[DropReason.UnknownSession]);
        Assert.Equal(0, h.Proxy.Drops[DropReason.AuthenticationFailed] + h.Proxy.Drops[DropReason.UnknownSession]);
        Assert.True(h.Router.IsEstablished && h.Proxy.IsEstablished);
    }

    [Fact]
    public void Under_load_the_proxy_answers_with_cookies_and_the_router_comes_back_with_them()
    {
        var h = Secured([10 * Mbit, 10 * Mbit], [20_000, 40_000], null, out var front);
        using var _ = front;
        front.UnderLoad = true;
        h.RunUntil(500_000);
        Assert.True(front.CookiesSent >= 2, "a cookie per path");
        Assert.Equal(1, front.Answered);
        Assert.True(h.Router.IsEstablished && h.Proxy.IsEstablished);
        Assert.Equal(0, h.Router.Drops.Total);
        // The re-sent initiation carried mac2 and no new ephemeral: one attempt, answered once.
        Assert.Equal(1, h.Router.HandshakesCompleted);
    }

    [Fact]
    public void Simulator_mode_is_unchanged_stand_in_seal_and_hello()
    {
        var h = new EngineHarness([10 * Mbit], [10_000]);
        h.RunUntil(200_000);
        Assert.True(h.Router.IsEstablished);
        Assert.Null(h.Router.Keys);
        Assert.Contains(h.Traffic, t => (PacketType)(t.Datagram[0] & 0x0F) == PacketType.Hello);
    }
}
