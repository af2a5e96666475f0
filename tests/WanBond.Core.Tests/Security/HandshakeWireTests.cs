using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

public class HandshakeWireTests
{
    [Fact]
    public void Layouts_have_the_documented_sizes_and_offsets()
    {
        Assert.Equal(12, HandshakeInitiation.SenderIndexOffset);
        Assert.Equal(16, HandshakeInitiation.NoiseOffset);
        Assert.Equal(111, HandshakeInitiation.NoiseLength);
        Assert.Equal(127, HandshakeInitiation.Mac1Offset);
        Assert.Equal(143, HandshakeInitiation.Mac2Offset);
        Assert.Equal(159, HandshakeInitiation.Size);

        Assert.Equal(12, HandshakeResponse.NoiseOffset);
        Assert.Equal(57, HandshakeResponse.NoiseLength);
        Assert.Equal(69, HandshakeResponse.Mac1Offset);
        Assert.Equal(101, HandshakeResponse.Size);

        Assert.Equal(12, CookieReply.NonceOffset);
        Assert.Equal(36, CookieReply.CookieOffset);
        Assert.Equal(68, CookieReply.Size);
    }

    [Fact]
    public void Handshake_datagrams_fit_the_smallest_path_mtu()
    {
        // IPv6 minimum MTU 1280 minus IPv6/UDP headers: no handshake message may need fragmentation.
        Assert.True(HandshakeInitiation.Size <= 1280 - 48);
    }

    [Fact]
    public void Initiation_parse_rejects_with_the_right_reason()
    {
        var m = new byte[HandshakeInitiation.Size];
        new ClearHeader(PacketType.HandshakeInitiation, 0, 1, 0).Write(m);
        m[HandshakeInitiation.SenderIndexOffset + 3] = 7;
        Assert.True(HandshakeInitiation.TryParse(m, out var header, out uint sender, out var reason));
        Assert.Equal(7u, sender);
        Assert.Equal((byte)1, header.PathId);
        Assert.Equal(DropReason.None, reason);

        Assert.False(HandshakeInitiation.TryParse(m.AsSpan(0, m.Length - 1), out _, out _, out reason));
        Assert.Equal(DropReason.Truncated, reason);
        Assert.False(HandshakeInitiation.TryParse(m.AsSpan(0, 5), out _, out _, out reason));
        Assert.Equal(DropReason.Truncated, reason);
        Assert.False(HandshakeInitiation.TryParse([.. m, 0], out _, out _, out reason));
        Assert.Equal(DropReason.BadLength, reason);

        var wrongType = (byte[])m.Clone();
        wrongType[0] = (1 << 4) | (byte)PacketType.HandshakeResponse;
        Assert.False(HandshakeInitiation.TryParse(wrongType, out _, out _, out reason));
        Assert.Equal(DropReason.UnknownType, reason);

        var wrongVersion = (byte[])m.Clone();
        wrongVersion[0] = (2 << 4) | (byte)PacketType.HandshakeInitiation;
        Assert.False(HandshakeInitiation.TryParse(wrongVersion, out _, out _, out reason));
        Assert.Equal(DropReason.BadVersion, reason);

        var addressed = (byte[])m.Clone();
        addressed[4] = 1;
        Assert.False(HandshakeInitiation.TryParse(addressed, out _, out _, out reason));
        Assert.Equal(DropReason.UnknownSession, reason);

        var noSender = (byte[])m.Clone();
        noSender[HandshakeInitiation.SenderIndexOffset + 3] = 0;
        Assert.False(HandshakeInitiation.TryParse(noSender, out _, out _, out reason));
        Assert.Equal(DropReason.UnknownSession, reason);
    }

    [Fact]
    public void Response_and_cookie_reply_parse_reject_with_the_right_reason()
    {
        var r = new byte[HandshakeResponse.Size];
        new ClearHeader(PacketType.HandshakeResponse, 9, 0, 0).Write(r);
        Assert.True(HandshakeResponse.TryParse(r, out var header, out _));
        Assert.Equal(9u, header.ReceiverSessionId);
        Assert.False(HandshakeResponse.TryParse(r.AsSpan(0, 100), out _, out var reason));
        Assert.Equal(DropReason.Truncated, reason);
        new ClearHeader(PacketType.HandshakeResponse, 0, 0, 0).Write(r);
        Assert.False(HandshakeResponse.TryParse(r, out _, out reason));
        Assert.Equal(DropReason.UnknownSession, reason);

        var c = new byte[CookieReply.Size];
        new ClearHeader(PacketType.CookieReply, 9, 0, 0).Write(c);
        Assert.True(CookieReply.TryParse(c, out _, out _));
        Assert.False(CookieReply.TryParse([.. c, 1], out _, out reason));
        Assert.Equal(DropReason.BadLength, reason);
        Assert.False(CookieReply.TryParse(r, out _, out reason));
        Assert.Equal(DropReason.UnknownType, reason);
    }

    [Fact]
    public void Initiation_payload_reuses_the_hello_layout_and_rules()
    {
        var payload = new byte[HandshakeInitiation.PayloadLength];
        HandshakeInitiation.WritePayload(payload, 0x01020304, 3, 1400, 0x1122334455667788);
        Assert.Equal("01020304" + "03" + "0578" + "1122334455667788", Convert.ToHexString(payload));
        Assert.True(HandshakeInitiation.TryParsePayload(payload, out uint id, out byte paths, out ushort max, out ulong ts, out _));
        Assert.Equal((0x01020304u, (byte)3, (ushort)1400, 0x1122334455667788UL), (id, paths, max, ts));

        payload[4] = 0;
        Assert.False(HandshakeInitiation.TryParsePayload(payload, out _, out _, out _, out _, out var reason));
        Assert.Equal(DropReason.BadPath, reason);
        Assert.False(HandshakeInitiation.TryParsePayload(payload.AsSpan(0, 10), out _, out _, out _, out _, out reason));
        Assert.Equal(DropReason.Truncated, reason);
    }

    [Fact]
    public void Random_bytes_never_throw_in_any_handshake_parser()
    {
        using var h = new SecurityHarness();
        using var initiator = h.NewInitiator(1);
        var rng = new Random(7);
        foreach (var size in new[] { 0, 1, 11, 12, 13, CookieReply.Size, HandshakeResponse.Size, HandshakeInitiation.Size, 300 })
        {
            var d = new byte[size];
            for (int i = 0; i < 200; i++)
            {
                rng.NextBytes(d);
                if (size > 0)
                {
                    d[0] = (byte)((1 << 4) | rng.Next(8, 11));
                }

                Assert.False(h.Responder.TryReadInitiation(d, out _, out _));
                Assert.False(initiator.TryReadResponse(d, 0, out _, out _));
                Assert.False(initiator.TryReadCookieReply(d, 0, out _));
                Assert.NotEqual(MacCheck.Valid, h.Responder.Cookies.Check(d, [1], underLoad: false, 0));
            }
        }
    }
}
