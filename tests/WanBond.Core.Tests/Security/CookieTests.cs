using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

public sealed class CookieTests : IDisposable
{
    private const long Second = 1_000_000;
    private static readonly byte[] SourceA = [192, 0, 2, 1, 0x1F, 0x90];
    private static readonly byte[] SourceB = [198, 51, 100, 7, 0x1F, 0x90];

    private readonly SecurityHarness _h = new();

    public void Dispose() => _h.Dispose();

    private CookieChecker Checker => _h.Responder.Cookies;

    private static byte[] Initiation(HandshakeInitiator initiator, byte pathId, long nowUs)
    {
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, pathId, 0, nowUs);
        return m;
    }

    [Fact]
    public void Not_under_load_mac1_alone_is_enough()
    {
        using var initiator = _h.NewInitiator(1);
        var m = Initiation(initiator, 0, 0);
        Assert.True(m.AsSpan(HandshakeInitiation.Mac2Offset).IndexOfAnyExcept((byte)0) < 0); // no cookie yet: mac2 zero
        Assert.Equal(MacCheck.Valid, Checker.Check(m, SourceA, underLoad: false, 0));
    }

    [Fact]
    public void Under_load_a_cookie_round_trip_makes_the_initiation_acceptable()
    {
        using var initiator = _h.NewInitiator(0xABCD);
        var m = Initiation(initiator, 1, 0);
        Assert.Equal(MacCheck.CookieRequired, Checker.Check(m, SourceA, underLoad: true, 0));

        var reply = new byte[CookieReply.Size];
        Assert.Equal(68, Checker.WriteCookieReply(m, SourceA, reply, 0));
        Assert.True(CookieReply.TryParse(reply, out var header, out _));
        Assert.Equal(0xABCDu, header.ReceiverSessionId);
        Assert.Equal((byte)1, header.PathId);

        Assert.True(initiator.TryReadCookieReply(reply, 10, out var reason), reason.ToString());
        Assert.True(_h.Cookies.HasCookie(1, 10));
        Assert.False(_h.Cookies.HasCookie(0, 10)); // cookies are per path

        var retry = Initiation(initiator, 1, 20);
        Assert.Equal(MacCheck.Valid, Checker.Check(retry, SourceA, underLoad: true, 20));
        Assert.Equal(MacCheck.CookieRequired, Checker.Check(retry, SourceB, underLoad: true, 20)); // bound to the source
        Assert.Equal(MacCheck.CookieRequired, Checker.Check(Initiation(initiator, 0, 20), SourceA, underLoad: true, 20));

        // The retry still decrypts: mac2 does not disturb the Noise message.
        Assert.True(_h.Responder.TryReadInitiation(retry, out var hs, out _));
        hs!.Dispose();
    }

    [Fact]
    public void Cookies_expire_when_the_secret_rotates_after_two_minutes()
    {
        using var initiator = _h.NewInitiator(5);
        var m = Initiation(initiator, 0, 0);
        var reply = new byte[CookieReply.Size];
        Checker.WriteCookieReply(m, SourceA, reply, 0);
        Assert.True(initiator.TryReadCookieReply(reply, 0, out _));
        var withCookie = Initiation(initiator, 0, 0);

        Assert.Equal(MacCheck.Valid, Checker.Check(withCookie, SourceA, underLoad: true, 119 * Second));
        Assert.Equal(1, Checker.SecretsGenerated);
        Assert.Equal(MacCheck.CookieRequired, Checker.Check(withCookie, SourceA, underLoad: true, 120 * Second));
        Assert.Equal(2, Checker.SecretsGenerated);

        // The initiator's jar drops the cookie after its lifetime, so it stops sending a stale mac2.
        Assert.True(_h.Cookies.HasCookie(0, CookieJar.CookieLifetimeUs - 1));
        Assert.False(_h.Cookies.HasCookie(0, CookieJar.CookieLifetimeUs));
        var afterExpiry = Initiation(initiator, 0, CookieJar.CookieLifetimeUs);
        Assert.True(afterExpiry.AsSpan(HandshakeInitiation.Mac2Offset).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Tampered_or_misdirected_cookie_replies_are_rejected()
    {
        using var initiator = _h.NewInitiator(5);
        var m = Initiation(initiator, 0, 0);
        var reply = new byte[CookieReply.Size];
        Checker.WriteCookieReply(m, SourceA, reply, 0);

        for (int i = CookieReply.NonceOffset; i < CookieReply.Size; i += 7)
        {
            var bad = (byte[])reply.Clone();
            bad[i] ^= 1;
            Assert.False(initiator.TryReadCookieReply(bad, 0, out var reason), $"byte {i}");
            Assert.Equal(DropReason.AuthenticationFailed, reason);
        }

        var other = (byte[])reply.Clone();
        other[2] ^= 1;
        Assert.False(initiator.TryReadCookieReply(other, 0, out var r2));
        Assert.Equal(DropReason.UnknownSession, r2);

        // A reply made for a different initiation (other mac1) does not decrypt for this one.
        using var second = _h.NewInitiator(5);
        var reply2 = new byte[CookieReply.Size];
        Checker.WriteCookieReply(Initiation(second, 0, 0), SourceA, reply2, 0);
        Assert.False(initiator.TryReadCookieReply(reply2, 0, out var r3));
        Assert.Equal(DropReason.AuthenticationFailed, r3);
        Assert.False(_h.Cookies.HasCookie(0, 0));

        // A cookie reply from someone who does not hold the proxy's key (cookie key differs).
        using var impostor = StaticKeyPair.Generate();
        using var impostorChecker = new CookieChecker(impostor.PublicKey);
        var forged = new byte[CookieReply.Size];
        impostorChecker.WriteCookieReply(m, SourceA, forged, 0);
        Assert.False(initiator.TryReadCookieReply(forged, 0, out var r4));
        Assert.Equal(DropReason.AuthenticationFailed, r4);

        Assert.True(initiator.TryReadCookieReply(reply, 0, out _));
    }

    [Fact]
    public void Bad_mac1_is_invalid_even_under_load_and_gets_no_cookie()
    {
        using var initiator = _h.NewInitiator(5);
        var m = Initiation(initiator, 0, 0);
        m[HandshakeInitiation.Mac1Offset] ^= 1;
        Assert.Equal(MacCheck.Invalid, Checker.Check(m, SourceA, underLoad: true, 0));
        Assert.Equal(MacCheck.Invalid, Checker.Check(m.AsSpan(0, 20), SourceA, underLoad: false, 0));
        Assert.Throws<ArgumentException>(() => Checker.WriteCookieReply(m.AsSpan(0, 100), SourceA, new byte[CookieReply.Size], 0));
    }

    [Theory]
    [InlineData(1, 0xFF)] // receiver id not 0
    [InlineData(12, 0)] // sender index 0 (with the next three bytes)
    public void A_rewritten_clear_header_is_invalid_before_any_cookie_is_made(int offset, byte value)
    {
        // mac1 does not cover the clear header: this initiation's mac1 stays valid. Under load the proxy used to
        // answer it with a cookie reply, whose writer then threw (the fuzzer's first find).
        using var initiator = _h.NewInitiator(6);
        var m = Initiation(initiator, 0, 0);
        m.AsSpan(offset, offset == 12 ? 4 : 1).Fill(value);
        Assert.Equal(MacCheck.Invalid, Checker.Check(m, SourceA, underLoad: true, 0));
        Assert.Equal(MacCheck.Invalid, Checker.Check(m, SourceA, underLoad: false, 0));
    }
}
