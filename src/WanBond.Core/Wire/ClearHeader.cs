using System.Buffers.Binary;

namespace WanBond.Core.Wire;

/// <summary>
/// The 12-byte header every datagram starts with. It travels in the clear (the receiver needs it
/// to find the session and the nonce before it can open the seal) but is authenticated as the
/// seal's associated data.
/// <code>
/// byte 0      Version &lt;&lt; 4 | Type
/// bytes 1..4  ReceiverSessionId (u32, big-endian)
/// byte 5      PathId
/// bytes 6..11 PacketNumber (u48, big-endian)
/// </code>
/// </summary>
/// <param name="Type">What the sealed part holds.</param>
/// <param name="ReceiverSessionId">The receiver's session id; 0 only in Hello ("no session yet").</param>
/// <param name="PathId">Which link the sender sent it on (the sender's numbering, agreed per session).</param>
/// <param name="PacketNumber">Per-path packet number: every packet on a path takes the next one.</param>
public readonly record struct ClearHeader(PacketType Type, uint ReceiverSessionId, byte PathId, ulong PacketNumber)
{
    public const int Size = 12;

    public const byte Version = 1;

    /// <summary>Packet numbers are 48 bits and never wrap: a path that would exceed this must be retired.</summary>
    public const ulong MaxPacketNumber = (1UL << 48) - 1;

    /// <summary>
    /// The seal's nonce. Unique per session key as long as (path, packet number) never repeats,
    /// which the per-path numbering guarantees without coordination between paths.
    /// </summary>
    public ulong Nonce => ((ulong)PathId << 48) | PacketNumber;

    /// <exception cref="ArgumentOutOfRangeException">The packet number exceeds 48 bits (programmer error).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public void Write(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PacketNumber, MaxPacketNumber);
        if (destination.Length < Size)
        {
            throw new ArgumentException("Destination is shorter than a clear header.", nameof(destination));
        }

        destination[0] = (byte)((Version << 4) | (byte)Type);
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], ReceiverSessionId);
        destination[5] = PathId;
        WireInt.WriteUInt48(destination[6..], PacketNumber);
    }

    /// <summary>Reads the header at the start of <paramref name="datagram"/>; the rest is ignored here.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ClearHeader header, out DropReason reason)
    {
        header = default;
        if (datagram.Length < Size)
        {
            reason = DropReason.Truncated;
            return false;
        }

        if (datagram[0] >> 4 != Version)
        {
            reason = DropReason.BadVersion;
            return false;
        }

        var type = (PacketType)(datagram[0] & 0x0F);
        if (!IsKnown(type))
        {
            reason = DropReason.UnknownType;
            return false;
        }

        header = new ClearHeader(
            type,
            BinaryPrimitives.ReadUInt32BigEndian(datagram[1..]),
            datagram[5],
            WireInt.ReadUInt48(datagram[6..]));
        reason = DropReason.None;
        return true;
    }

    // A switch rather than Enum.IsDefined: no boxing or reflection on the per-packet path.
    private static bool IsKnown(PacketType type) => type switch
    {
        PacketType.Hello or PacketType.HelloReply or PacketType.HandshakeInitiation or PacketType.HandshakeResponse
            or PacketType.CookieReply => true,
        _ => type.IsSessionTraffic(),
    };
}
