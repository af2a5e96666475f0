using System.Buffers.Binary;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// HandshakeInitiation (packet type 8), initiator → responder. 159 bytes.
/// <code>
/// offset size
///   0    12  clear header: type 8, ReceiverSessionId 0, PathId, PacketNumber (routing hints only)
///  12     4  sender index (u32 BE): the initiator's new index, in the clear so a cookie reply can be
///            addressed without any DH; repeated inside the payload, which authenticates it
///  16    32  Noise e: the initiator's ephemeral public key
///  48    48  Noise s: the initiator's static public key, encrypted (+ tag)
///  96    31  Noise payload, encrypted (15 + tag): u32 senderIndex, u8 pathCount, u16 maxDatagramSize,
///            u64 timestamp (the first 7 bytes are the Hello frame's layout)
/// 127    16  mac1 = MAC(HASH("mac1----" ‖ responder static), bytes 12..127)
/// 143    16  mac2 = MAC(cookie, bytes 12..143), or zeros without a cookie
/// </code>
/// </summary>
public static class HandshakeInitiation
{
    public const int SenderIndexOffset = ClearHeader.Size;
    public const int NoiseOffset = SenderIndexOffset + 4;
    public const int PayloadLength = 15;
    public const int NoiseLength = NoiseIK.Message1Overhead + PayloadLength;
    public const int Mac1Offset = NoiseOffset + NoiseLength;
    public const int Mac2Offset = Mac1Offset + HandshakeMacs.MacLength;
    public const int Size = Mac2Offset + HandshakeMacs.MacLength;

    /// <summary>The most paths a session can have (one ack block each): an initiation asking for more is refused.</summary>
    public const int MaxPathCount = AckFrame.MaxBlocks;

    /// <summary>Checks the type, the exact length, receiver id 0 and a non-zero sender index. No cryptography.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ClearHeader header, out uint senderIndex, out DropReason reason)
    {
        senderIndex = 0;
        if (!HandshakeMacs.TryParseHeader(datagram, PacketType.HandshakeInitiation, Size, out header, out reason))
        {
            return false;
        }

        if (header.ReceiverSessionId != 0)
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        senderIndex = BinaryPrimitives.ReadUInt32BigEndian(datagram[SenderIndexOffset..]);
        if (senderIndex == 0)
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        return true;
    }

    internal static void WritePayload(Span<byte> payload, uint senderIndex, byte pathCount, ushort maxDatagramSize, ulong timestamp)
    {
        ControlFrames.WriteHello(payload, senderIndex, pathCount, maxDatagramSize);
        BinaryPrimitives.WriteUInt64BigEndian(payload[ControlFrames.HelloSize..], timestamp);
    }

    internal static bool TryParsePayload(
        ReadOnlySpan<byte> payload, out uint senderIndex, out byte pathCount, out ushort maxDatagramSize, out ulong timestamp, out DropReason reason)
    {
        timestamp = 0;
        if (payload.Length != PayloadLength)
        {
            senderIndex = 0;
            pathCount = 0;
            maxDatagramSize = 0;
            reason = payload.Length < PayloadLength ? DropReason.Truncated : DropReason.BadLength;
            return false;
        }

        if (!ControlFrames.TryParseHello(payload[..ControlFrames.HelloSize], out senderIndex, out pathCount, out maxDatagramSize, out reason))
        {
            return false;
        }

        if (pathCount > MaxPathCount)
        {
            // A session cannot have that many paths: refused here, not by an exception where the proxy builds it
            // (found by the fuzzer: a configured router asking for 9..32 paths crashed the proxy engine).
            reason = DropReason.BadPath;
            return false;
        }

        timestamp = BinaryPrimitives.ReadUInt64BigEndian(payload[ControlFrames.HelloSize..]);
        return true;
    }
}

/// <summary>
/// HandshakeResponse (packet type 9), responder → initiator. 101 bytes.
/// <code>
/// offset size
///   0    12  clear header: type 9, ReceiverSessionId = the initiator's sender index, PathId, PacketNumber
///  12    32  Noise e: the responder's ephemeral public key
///  44    25  Noise payload, encrypted (9 + tag): u32 initiatorIndex, u32 responderIndex, u8 pathCount
///            (the HelloReply frame's layout)
///  69    16  mac1 = MAC(HASH("mac1----" ‖ initiator static), bytes 12..69)
///  85    16  mac2: zeros (the initiator issues no cookies; the field keeps the layouts parallel)
/// </code>
/// </summary>
public static class HandshakeResponse
{
    public const int NoiseOffset = ClearHeader.Size;
    public const int PayloadLength = ControlFrames.HelloReplySize;
    public const int NoiseLength = NoiseIK.Message2Overhead + PayloadLength;
    public const int Mac1Offset = NoiseOffset + NoiseLength;
    public const int Mac2Offset = Mac1Offset + HandshakeMacs.MacLength;
    public const int Size = Mac2Offset + HandshakeMacs.MacLength;

    /// <summary>Checks the type, the exact length and a non-zero receiver id. No cryptography.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ClearHeader header, out DropReason reason)
    {
        if (!HandshakeMacs.TryParseHeader(datagram, PacketType.HandshakeResponse, Size, out header, out reason))
        {
            return false;
        }

        if (header.ReceiverSessionId == 0)
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        return true;
    }
}

/// <summary>
/// CookieReply (packet type 10), responder → initiator, instead of a response when the responder is
/// under load and the initiation carried no valid mac2. 68 bytes.
/// <code>
/// offset size
///   0    12  clear header: type 10, ReceiverSessionId = the initiation's sender index, PathId copied from
///            the initiation, PacketNumber 0
///  12    24  nonce (random)
///  36    32  cookie (16), XChaCha20-Poly1305-encrypted (+ tag) under HASH("cookie--" ‖ responder static),
///            with the initiation's mac1 as associated data
/// </code>
/// </summary>
public static class CookieReply
{
    public const int NonceOffset = ClearHeader.Size;
    public const int NonceLength = 24;
    public const int CookieOffset = NonceOffset + NonceLength;
    public const int Size = CookieOffset + HandshakeMacs.MacLength + 16;

    /// <summary>Checks the type, the exact length and a non-zero receiver id. No cryptography.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ClearHeader header, out DropReason reason)
    {
        if (!HandshakeMacs.TryParseHeader(datagram, PacketType.CookieReply, Size, out header, out reason))
        {
            return false;
        }

        if (header.ReceiverSessionId == 0)
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        return true;
    }
}
