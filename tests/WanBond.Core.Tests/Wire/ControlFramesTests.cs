using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class ControlFramesTests
{
    private static readonly Gen<uint> SessionId = WireGen.UInt32.Where(id => id != 0);
    private static readonly Gen<byte> PathCount = Gen.Byte[1, 255];

    [Fact]
    public void Hello_round_trips()
    {
        Gen.Select(SessionId, PathCount, Gen.UShort).Sample((id, paths, maxSize) =>
        {
            var plain = new byte[ControlFrames.HelloSize];
            Assert.Equal(ControlFrames.HelloSize, ControlFrames.WriteHello(plain, id, paths, maxSize));

            Assert.True(ControlFrames.TryParseHello(plain, out uint parsedId, out byte parsedPaths, out ushort parsedMax, out var reason));
            Assert.Equal(DropReason.None, reason);
            Assert.Equal((id, paths, maxSize), (parsedId, parsedPaths, parsedMax));
        });
    }

    [Fact]
    public void HelloReply_round_trips()
    {
        Gen.Select(SessionId, SessionId, PathCount).Sample((initiator, responder, paths) =>
        {
            var plain = new byte[ControlFrames.HelloReplySize];
            Assert.Equal(ControlFrames.HelloReplySize, ControlFrames.WriteHelloReply(plain, initiator, responder, paths));

            Assert.True(ControlFrames.TryParseHelloReply(plain, out uint i, out uint r, out byte p, out var reason));
            Assert.Equal(DropReason.None, reason);
            Assert.Equal((initiator, responder, paths), (i, r, p));
        });
    }

    [Fact]
    public void Close_round_trips()
    {
        Gen.Byte.Sample(code =>
        {
            var plain = new byte[ControlFrames.CloseSize];
            Assert.Equal(ControlFrames.CloseSize, ControlFrames.WriteClose(plain, code));

            Assert.True(ControlFrames.TryParseClose(plain, out byte parsed, out var reason));
            Assert.Equal(DropReason.None, reason);
            Assert.Equal(code, parsed);
        });
    }

    [Fact]
    public void Layouts_are_big_endian_in_field_order()
    {
        var hello = new byte[ControlFrames.HelloSize];
        ControlFrames.WriteHello(hello, 0x01020304, 3, 0x0506);
        var reply = new byte[ControlFrames.HelloReplySize];
        ControlFrames.WriteHelloReply(reply, 0x01020304, 0x0A0B0C0D, 2);

        Assert.Equal(new byte[] { 1, 2, 3, 4, 3, 5, 6 }, hello);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, 2 }, reply);
    }

    private delegate bool Parser(ReadOnlySpan<byte> plain, out DropReason reason);

    public static TheoryData<string> Frames => ["hello", "helloReply", "close"];

    private static (byte[] Valid, Parser Parse) Frame(string name)
    {
        switch (name)
        {
            case "hello":
                {
                    var b = new byte[ControlFrames.HelloSize];
                    ControlFrames.WriteHello(b, 9, 2, 1400);
                    return (b, (ReadOnlySpan<byte> p, out DropReason r) => ControlFrames.TryParseHello(p, out _, out _, out _, out r));
                }

            case "helloReply":
                {
                    var b = new byte[ControlFrames.HelloReplySize];
                    ControlFrames.WriteHelloReply(b, 9, 10, 2);
                    return (b, (ReadOnlySpan<byte> p, out DropReason r) => ControlFrames.TryParseHelloReply(p, out _, out _, out _, out r));
                }

            default:
                {
                    var b = new byte[ControlFrames.CloseSize];
                    ControlFrames.WriteClose(b, 1);
                    return (b, (ReadOnlySpan<byte> p, out DropReason r) => ControlFrames.TryParseClose(p, out _, out r));
                }
        }
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Every_truncation_is_rejected(string name)
    {
        var (valid, parse) = Frame(name);

        Assert.True(parse(valid, out _));
        for (int length = 0; length < valid.Length; length++)
        {
            Assert.False(parse(valid.AsSpan(0, length), out var reason));
            Assert.Equal(DropReason.Truncated, reason);
        }
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Trailing_bytes_are_a_bad_length(string name)
    {
        var (valid, parse) = Frame(name);

        Assert.False(parse([.. valid, 0], out var reason));
        Assert.Equal(DropReason.BadLength, reason);
    }

    [Fact]
    public void Session_id_zero_is_rejected()
    {
        var hello = new byte[ControlFrames.HelloSize];
        ControlFrames.WriteHello(hello, 0, 2, 1400);
        var reply = new byte[ControlFrames.HelloReplySize];
        ControlFrames.WriteHelloReply(reply, 5, 0, 2);

        Assert.False(ControlFrames.TryParseHello(hello, out _, out _, out _, out var helloReason));
        Assert.False(ControlFrames.TryParseHelloReply(reply, out _, out _, out _, out var replyReason));
        Assert.Equal(DropReason.UnknownSession, helloReason);
        Assert.Equal(DropReason.UnknownSession, replyReason);
    }

    [Fact]
    public void Zero_paths_are_rejected()
    {
        var hello = new byte[ControlFrames.HelloSize];
        ControlFrames.WriteHello(hello, 5, 0, 1400);
        var reply = new byte[ControlFrames.HelloReplySize];
        ControlFrames.WriteHelloReply(reply, 5, 6, 0);

        Assert.False(ControlFrames.TryParseHello(hello, out _, out _, out _, out var helloReason));
        Assert.False(ControlFrames.TryParseHelloReply(reply, out _, out _, out _, out var replyReason));
        Assert.Equal(DropReason.BadPath, helloReason);
        Assert.Equal(DropReason.BadPath, replyReason);
    }
}
