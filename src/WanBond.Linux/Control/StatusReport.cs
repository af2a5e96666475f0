using System.Text.Json.Serialization;

namespace WanBond.Linux.Control;

/// <summary>What `wanbond status` shows: one daemon's sessions and their links. Serialized as JSON over the control socket.</summary>
public sealed class StatusReport
{
    public string Role { get; set; } = "";

    public double UptimeSeconds { get; set; }

    public string Tunnel { get; set; } = "";

    /// <summary>True while traffic travels without encryption (until the security layer lands).</summary>
    public bool Unencrypted { get; set; } = true;

    public long InboxDropped { get; set; }

    public long TunWriteErrors { get; set; }

    public List<SessionStatus> Sessions { get; set; } = [];
}

public sealed class SessionStatus
{
    public uint LocalId { get; set; }

    public uint PeerId { get; set; }

    public bool Established { get; set; }

    /// <summary>Seconds since the session was established (0 when it is not).</summary>
    public double UptimeSeconds { get; set; }

    public long SendQueueBytes { get; set; }

    public long SendQueueDrops { get; set; }

    public long ReorderSkipped { get; set; }

    public double HoldBoundMs { get; set; }

    public long DatagramsDropped { get; set; }

    public List<LinkStatus> Links { get; set; } = [];
}

public sealed class LinkStatus
{
    public int Path { get; set; }

    /// <summary>Interface name (router) or "path N" (proxy).</summary>
    public string Name { get; set; } = "";

    /// <summary>up: carrying traffic; down: the engine gets no answer on it; absent: the interface is missing or has no address/route.</summary>
    public string State { get; set; } = "";

    /// <summary>The link's local address (router) or the peer's address as seen on this path (proxy).</summary>
    public string? Address { get; set; }

    public double RttMs { get; set; }

    public double MinRttMs { get; set; }

    public double PacingMbps { get; set; }

    /// <summary>Sent over the last status interval, Mbit/s (datagrams, tunnel overhead included).</summary>
    public double TxMbps { get; set; }

    /// <summary>Received over the last status interval, Mbit/s.</summary>
    public double RxMbps { get; set; }

    /// <summary>Packets declared lost over the last status interval, percent of those sent.</summary>
    public double LossPercent { get; set; }

    /// <summary>This link's part of the data sent over the last interval (all time when idle), percent.</summary>
    public double SharePercent { get; set; }

    public long BytesSent { get; set; }

    public long BytesReceived { get; set; }

    public long PacketsLost { get; set; }

    public long PacketsRepaired { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StatusReport))]
public sealed partial class StatusJsonContext : JsonSerializerContext
{
}
