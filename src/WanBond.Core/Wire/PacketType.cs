namespace WanBond.Core.Wire;

/// <summary>
/// The type nibble of a <see cref="ClearHeader"/>. Values are wire values: never renumber.
/// </summary>
public enum PacketType : byte
{
    /// <summary>An inner IP packet with its global sequence number (<see cref="DataFrame"/>).</summary>
    Data = 1,

    /// <summary>Per-path selective acknowledgements (<see cref="AckFrame"/>).</summary>
    Ack = 2,

    /// <summary>Ack-eliciting keepalive / path probe (<see cref="ProbeFrame"/>).</summary>
    Probe = 3,

    /// <summary>Initiator opens a session; sent on every path with receiver session id 0.</summary>
    Hello = 4,

    /// <summary>Responder accepts a <see cref="Hello"/> and names its own session id.</summary>
    HelloReply = 5,

    /// <summary>Either side ends the session.</summary>
    Close = 6,

    /// <summary>
    /// A <see cref="Data"/> packet the receiver delivers on arrival, without waiting for holes in the global
    /// order: the sender had every earlier packet of the same inner flow acknowledged when it first sent it.
    /// Same payload (<see cref="DataFrame"/>).
    /// </summary>
    DataExpress = 7,

    /// <summary>Reserved for the security layer's handshake; no payload parser in v1.</summary>
    HandshakeInitiation = 8,

    /// <summary>Reserved for the security layer's handshake; no payload parser in v1.</summary>
    HandshakeResponse = 9,

    /// <summary>Reserved for the security layer's DoS cookie; no payload parser in v1.</summary>
    CookieReply = 10,

    /// <summary>
    /// A <see cref="Data"/> packet the receiver may deliver on arrival when its path shows no loss since the
    /// last packet of the same inner flow it received there: the sender had sent every unacknowledged earlier
    /// packet of the flow on this same path, before this one. Same payload (<see cref="DataFrame"/>).
    /// </summary>
    DataExpressOnPath = 11,
}

/// <summary>The packet-type sets more than one layer tests (one definition, so a new type is added once).</summary>
public static class PacketTypes
{
    /// <summary>Carries one inner packet (<see cref="DataFrame"/>): plain or express.</summary>
    public static bool IsData(this PacketType type) =>
        type is PacketType.Data or PacketType.DataExpress or PacketType.DataExpressOnPath;

    /// <summary>Sealed traffic of an established session: data, acks, probes, close.</summary>
    public static bool IsSessionTraffic(this PacketType type) =>
        type.IsData() || type is PacketType.Ack or PacketType.Probe or PacketType.Close;
}
