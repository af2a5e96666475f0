namespace WanBond.Core.Wire;

/// <summary>
/// The AEAD step between the clear header and the wire. Pluggable so that the engine and the
/// simulator run unchanged with <see cref="NullSeal"/> while the security layer provides
/// ChaCha20-Poly1305 keyed by its handshake.
/// Layout of a sealed datagram: <c>[header (associated data)][sealed payload][tag]</c>.
/// </summary>
public interface IPacketSeal
{
    /// <summary>Bytes the tag adds after the payload.</summary>
    int TagLength { get; }

    /// <summary>
    /// Seals <c>datagram[headerLength .. headerLength + plainLength)</c> in place and writes the tag
    /// right after it; <c>datagram[0 .. headerLength)</c> is associated data.
    /// The nonce must never repeat under one key (<see cref="ClearHeader.Nonce"/> guarantees that).
    /// </summary>
    /// <returns>The total datagram length: header + payload + tag.</returns>
    int Seal(Span<byte> datagram, int headerLength, int plainLength, ulong nonce);

    /// <summary>
    /// Verifies and opens in place. <paramref name="datagram"/> is exactly the received datagram.
    /// Never throws on bad input.
    /// </summary>
    /// <param name="plainLength">Payload length, excluding the tag.</param>
    /// <returns>False when the datagram is too short for a tag or the tag does not verify.</returns>
    bool TryOpen(Span<byte> datagram, int headerLength, ulong nonce, out int plainLength);
}
