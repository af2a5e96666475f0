using System.Buffers.Binary;

namespace WanBond.Core.Wire;

/// <summary>
/// Sealed payloads of the session control packets. Each has one exact length: shorter is
/// <see cref="DropReason.Truncated"/>, longer is <see cref="DropReason.BadLength"/>.
/// Session id 0 means "no session" on the wire, so a frame naming 0 as its own id is
/// <see cref="DropReason.UnknownSession"/>; a path count of 0 is <see cref="DropReason.BadPath"/>.
/// </summary>
public static class ControlFrames
{
    /// <summary><c>u32 initiatorSessionId, u8 pathCount, u16 maxDatagramSize</c>.</summary>
    public const int HelloSize = 7;

    /// <summary><c>u32 initiatorSessionId, u32 responderSessionId, u8 pathCount</c>.</summary>
    public const int HelloReplySize = 9;

    /// <summary><c>u8 reason</c>.</summary>
    public const int CloseSize = 1;

    /// <summary>
    /// Hello, sent by the initiator on every path with <see cref="ClearHeader.ReceiverSessionId"/> 0.
    /// <paramref name="maxDatagramSize"/> is the largest datagram the initiator accepts.
    /// </summary>
    /// <returns><see cref="HelloSize"/>.</returns>
    public static int WriteHello(Span<byte> plain, uint initiatorSessionId, byte pathCount, ushort maxDatagramSize)
    {
        EnsureRoom(plain, HelloSize);
        BinaryPrimitives.WriteUInt32BigEndian(plain, initiatorSessionId);
        plain[4] = pathCount;
        BinaryPrimitives.WriteUInt16BigEndian(plain[5..], maxDatagramSize);
        return HelloSize;
    }

    public static bool TryParseHello(
        ReadOnlySpan<byte> plain, out uint initiatorSessionId, out byte pathCount, out ushort maxDatagramSize, out DropReason reason)
    {
        initiatorSessionId = 0;
        pathCount = 0;
        maxDatagramSize = 0;
        if (!HasExactLength(plain, HelloSize, out reason))
        {
            return false;
        }

        uint id = BinaryPrimitives.ReadUInt32BigEndian(plain);
        byte paths = plain[4];
        if (!IsPlausible(id, paths, out reason))
        {
            return false;
        }

        initiatorSessionId = id;
        pathCount = paths;
        maxDatagramSize = BinaryPrimitives.ReadUInt16BigEndian(plain[5..]);
        return true;
    }

    /// <summary>HelloReply, the responder's answer: it echoes the initiator's id and names its own.</summary>
    /// <returns><see cref="HelloReplySize"/>.</returns>
    public static int WriteHelloReply(Span<byte> plain, uint initiatorSessionId, uint responderSessionId, byte pathCount)
    {
        EnsureRoom(plain, HelloReplySize);
        BinaryPrimitives.WriteUInt32BigEndian(plain, initiatorSessionId);
        BinaryPrimitives.WriteUInt32BigEndian(plain[4..], responderSessionId);
        plain[8] = pathCount;
        return HelloReplySize;
    }

    public static bool TryParseHelloReply(
        ReadOnlySpan<byte> plain, out uint initiatorSessionId, out uint responderSessionId, out byte pathCount, out DropReason reason)
    {
        initiatorSessionId = 0;
        responderSessionId = 0;
        pathCount = 0;
        if (!HasExactLength(plain, HelloReplySize, out reason))
        {
            return false;
        }

        uint initiator = BinaryPrimitives.ReadUInt32BigEndian(plain);
        uint responder = BinaryPrimitives.ReadUInt32BigEndian(plain[4..]);
        byte paths = plain[8];
        if (!IsPlausible(initiator, paths, out reason) || !IsPlausible(responder, paths, out reason))
        {
            return false;
        }

        initiatorSessionId = initiator;
        responderSessionId = responder;
        pathCount = paths;
        return true;
    }

    /// <summary>Close; <paramref name="closeReason"/> is informational (no codes are defined in v1).</summary>
    /// <returns><see cref="CloseSize"/>.</returns>
    public static int WriteClose(Span<byte> plain, byte closeReason)
    {
        EnsureRoom(plain, CloseSize);
        plain[0] = closeReason;
        return CloseSize;
    }

    public static bool TryParseClose(ReadOnlySpan<byte> plain, out byte closeReason, out DropReason reason)
    {
        closeReason = 0;
        if (!HasExactLength(plain, CloseSize, out reason))
        {
            return false;
        }

        closeReason = plain[0];
        return true;
    }

    private static bool HasExactLength(ReadOnlySpan<byte> plain, int size, out DropReason reason)
    {
        reason = plain.Length < size ? DropReason.Truncated
            : plain.Length > size ? DropReason.BadLength
            : DropReason.None;
        return reason == DropReason.None;
    }

    private static bool IsPlausible(uint sessionId, byte pathCount, out DropReason reason)
    {
        reason = sessionId == 0 ? DropReason.UnknownSession
            : pathCount == 0 ? DropReason.BadPath
            : DropReason.None;
        return reason == DropReason.None;
    }

    private static void EnsureRoom(Span<byte> plain, int size)
    {
        if (plain.Length < size)
        {
            throw new ArgumentException("Destination is shorter than the frame.", nameof(plain));
        }
    }
}
