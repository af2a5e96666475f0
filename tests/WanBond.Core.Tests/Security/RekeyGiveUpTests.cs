using WanBond.Core.Security;
using WanBond.Core.Sessions;
using WanBond.Core.Tests.Sessions;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

/// <summary>
/// What the initiator does when handshakes stop being answered (WireGuard's timers, docs/security.md "Rekey"), in
/// simulated time with the real policy: keys are due at 120 s, unusable at 180 s; attempts stop 90 s after the
/// first unanswered one, and then nothing more is sent.
/// </summary>
public sealed class RekeyGiveUpTests : IDisposable
{
    private const long Second = 1_000_000;
    private const long Mbit = 125_000;

    private readonly StaticKeyPair _routerKey = StaticKeyPair.Generate();
    private readonly StaticKeyPair _proxyKey = StaticKeyPair.Generate();
    private readonly HandshakeResponder _responder;

    public RekeyGiveUpTests() => _responder = new HandshakeResponder(_proxyKey);

    public void Dispose()
    {
        _responder.Dispose();
        _routerKey.Dispose();
        _proxyKey.Dispose();
    }

    /// <summary>A router and a proxy; the proxy answers initiations while <paramref name="answering"/> says so, and its
    /// session keeps carrying traffic either way. Marks record how much traffic there was at each second.</summary>
    private EngineHarness Pair(Func<long, bool> answering, List<(long TimeUs, int Count)> marks, long endUs)
    {
        Session? proxy = null;
        var h = new EngineHarness([10 * Mbit, 10 * Mbit], [20_000, 40_000], options => (
            new Session(options, SessionSecurity.ForInitiator(_routerKey, _proxyKey.PublicKey, 1_700_000_000_000_000), SessionRole.Initiator, 0),
            proxy = new Session(options, SessionSecurity.ForResponder(), SessionRole.Responder, 0)));
        var accepted = new InitiationReplayGuard();
        uint nextIndex = 100;
        h.ProxyFront = (path, d) =>
        {
            if ((PacketType)(d[0] & 0x0F) != PacketType.HandshakeInitiation)
            {
                return (false, null);
            }
            if (!answering(h.NowUs) || !_responder.TryReadInitiation(d, out var hs, out _) || hs is null)
            {
                return (true, null);
            }
            using (hs)
            {
                if (!accepted.TryAdvance(hs.Timestamp))
                {
                    return (true, null);
                }
                var answer = new byte[HandshakeResponse.Size];
                proxy!.AcceptHandshake(hs, nextIndex++, answer, h.NowUs);
                return (true, answer);
            }
        };
        for (var t = 0L; t <= endUs; t += Second)
        {
            var at = t;
            h.At(at, () => marks.Add((at, h.Traffic.Count)));
        }
        // Both directions always have something to send (one packet every 100 ms each way).
        for (var t = 200_000L; t <= endUs; t += 100_000)
        {
            var id = (int)(t / 100_000);
            h.At(t, () =>
            {
                h.Router.SubmitInner(EngineHarness.Packet(id), h.NowUs);
                h.Proxy.SubmitInner(EngineHarness.Packet(1_000_000 + id), h.NowUs);
                h.Kick(h.Router);
                h.Kick(h.Proxy);
            });
        }
        return h;
    }

    private static PacketType TypeOf(byte[] d) => (PacketType)(d[0] & 0x0F);

    private static bool IsData(byte[] d) => TypeOf(d) is PacketType.Data or PacketType.DataExpress or PacketType.DataExpressOnPath;

    /// <summary>The traffic sent during [fromUs, toUs), by the marks (1 s resolution).</summary>
    private static IEnumerable<(bool ToProxy, int Path, byte[] Datagram)> Between(EngineHarness h, List<(long TimeUs, int Count)> marks, long fromUs, long toUs)
    {
        var first = marks.First(m => m.TimeUs >= fromUs).Count;
        var last = marks.LastOrDefault(m => m.TimeUs <= toUs, (TimeUs: toUs, Count: h.Traffic.Count)).Count;
        return h.Traffic.Skip(first).Take(Math.Max(0, last - first));
    }

    [Fact]
    public void When_rekeys_go_unanswered_keys_stop_at_180_s_and_the_initiator_gives_up_at_210_s()
    {
        var marks = new List<(long, int)>();
        var h = Pair(now => now < 60 * Second, marks, 400 * Second);
        var policy = RekeyPolicy.Default;

        h.RunUntil(119 * Second);
        Assert.True(h.Router.IsEstablished);
        Assert.Equal(1, h.Router.HandshakesCompleted);
        Assert.False(h.Router.HandshakeGaveUp);

        h.RunUntil(179 * Second);
        // Rekey attempts from 120 s on, unanswered, while the old keys still carry traffic both ways.
        Assert.True(h.Router.HandshakeAttemptsTimedOut >= 10, $"{h.Router.HandshakeAttemptsTimedOut} attempts timed out");
        Assert.Contains(Between(h, marks, 170 * Second, 179 * Second), t => t.ToProxy && IsData(t.Datagram));
        Assert.Contains(Between(h, marks, 170 * Second, 179 * Second), t => !t.ToProxy && IsData(t.Datagram));

        h.RunUntil(policy.RejectAfterUs + 1 * Second);
        // Past the reject-after age, neither side seals another datagram with those keys, however much is queued.
        Assert.DoesNotContain(Between(h, marks, policy.RejectAfterUs + 1 * Second, 400 * Second), t => TypeOf(t.Datagram) is PacketType.Data or PacketType.DataExpress or PacketType.DataExpressOnPath or PacketType.Ack or PacketType.Probe);
        Assert.False(h.Router.IsEstablished);
        Assert.False(h.Router.HandshakeGaveUp); // still trying: 90 s have not passed since the first rekey attempt

        h.RunUntil(400 * Second);
        Assert.True(h.Router.HandshakeGaveUp);
        Assert.Null(h.Router.Keys!.Current);
        Assert.Null(h.Router.Keys.Previous);
        Assert.Null(h.Router.Keys.Next);
        var initiations = h.Traffic.Select((t, i) => (t, i)).Where(x => TypeOf(x.t.Datagram) == PacketType.HandshakeInitiation).ToList();
        var lastAt = marks.First(m => m.Item2 > initiations[^1].i).Item1;
        // The last initiation went out before 120 s + 90 s (+ the 1 s mark resolution); nothing at all since 212 s.
        Assert.InRange(lastAt, 200 * Second, policy.RekeyAfterUs + policy.RekeyAttemptUs + 1 * Second);
        Assert.DoesNotContain(Between(h, marks, 212 * Second, 400 * Second), t => t.ToProxy);
        Assert.True(h.Router.NextTimeoutUs > h.NowUs, "a session that gave up must not ask to run again at once");
        // Data the router's side still has arriving with the dropped keys is refused, never opened.
        var lateData = Between(h, marks, 100 * Second, 170 * Second).First(t => !t.ToProxy && IsData(t.Datagram)).Datagram;
        var before = h.Router.Drops[DropReason.UnknownSession];
        h.Inject(toProxy: false, lateData[5], lateData);
        Assert.Equal(before + 1, h.Router.Drops[DropReason.UnknownSession]);
    }

    [Fact]
    public void A_first_handshake_never_answered_is_given_up_after_90_s()
    {
        var marks = new List<(long, int)>();
        var h = Pair(_ => false, marks, 200 * Second);
        h.RunUntil(89 * Second);
        Assert.False(h.Router.HandshakeGaveUp);
        Assert.True(h.Router.InitiationsSent >= 80, $"{h.Router.InitiationsSent} initiations (one a second, on each path)");
        h.RunUntil(200 * Second);
        Assert.True(h.Router.HandshakeGaveUp);
        var sentAfter = Between(h, marks, 92 * Second, 200 * Second).Count(t => t.ToProxy);
        Assert.Equal(0, sentAfter);
        Assert.False(h.Router.IsEstablished);
    }

    [Fact]
    public void Rekeys_answered_late_but_within_90_s_keep_the_session()
    {
        var marks = new List<(long, int)>();
        // Unanswered from 60 s to 200 s: the first rekey attempt is at 120 s, the answer comes at 200 s (80 s later).
        var h = Pair(now => now < 60 * Second || now >= 200 * Second, marks, 300 * Second);
        h.RunUntil(300 * Second);
        Assert.False(h.Router.HandshakeGaveUp);
        Assert.True(h.Router.IsEstablished);
        Assert.Equal(2, h.Router.HandshakesCompleted);
        Assert.Contains(Between(h, marks, 250 * Second, 300 * Second), t => t.ToProxy && IsData(t.Datagram));
    }
}
