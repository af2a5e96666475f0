using System.Text.Json.Serialization;
using WanBond.Core.Sessions;
using WanBond.Core.Wire;

namespace WanBond.Linux.Control;

/// <summary>What `wanbond status` shows: one daemon's sessions and their links. Serialized as JSON over the control socket.</summary>
public sealed class StatusReport
{
    public string Role { get; set; } = "";

    public double UptimeSeconds { get; set; }

    public string Tunnel { get; set; } = "";

    /// <summary>True when traffic travels without encryption: only the benchmark-only <c>insecure_null_transport</c>.</summary>
    public bool Unencrypted { get; set; }

    public long InboxDropped { get; set; }

    public long TunWriteErrors { get; set; }

    public List<SessionStatus> Sessions { get; set; } = [];

    /// <summary>Handshakes and hostile input since the daemon started (all sessions, past and present).</summary>
    public SecurityStatus Security { get; set; } = new();
}

/// <summary>
/// The security counters `wanbond status` shows, totals since the daemon started. Handshake counters count
/// handshake messages by outcome; <see cref="Dropped"/> counts every datagram (and inner packet) dropped, by reason,
/// so a rejected initiation appears in both.
/// </summary>
public sealed class SecurityStatus
{
    /// <summary>Proxy: initiations answered; router: responses accepted.</summary>
    public long HandshakesCompleted { get; set; }

    /// <summary>Proxy: initiations refused (bad mac1 or decryption, unknown key, replayed); router: attempts that went unanswered.</summary>
    public long HandshakesFailed { get; set; }

    /// <summary>Router: sessions given up after 90 s of unanswered handshakes (and replaced).</summary>
    public long HandshakesGivenUp { get; set; }

    /// <summary>Proxy: valid initiations from a public key that is not among its peers.</summary>
    public long UnknownPeer { get; set; }

    /// <summary>Proxy: cookie replies sent (under load).</summary>
    public long CookiesSent { get; set; }

    /// <summary>Proxy: initiations over their source's rate.</summary>
    public long RateLimited { get; set; }

    public DropStatus Dropped { get; set; } = new();

    /// <summary>Adds a session's handshake counts and drops (call for live sessions when reporting, and once for each session that ends).</summary>
    public void AddSession(Session session)
    {
        ArgumentNullException.ThrowIfNull(session);
        HandshakesCompleted += session.HandshakesCompleted;
        HandshakesFailed += session.HandshakeAttemptsTimedOut;
        HandshakesGivenUp += session.HandshakeGaveUp ? 1 : 0;
        Dropped.Add(session.Drops);
    }

    /// <summary>This plus <paramref name="other"/>, as a new object.</summary>
    public SecurityStatus Plus(SecurityStatus other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new SecurityStatus
        {
            HandshakesCompleted = HandshakesCompleted + other.HandshakesCompleted,
            HandshakesFailed = HandshakesFailed + other.HandshakesFailed,
            HandshakesGivenUp = HandshakesGivenUp + other.HandshakesGivenUp,
            UnknownPeer = UnknownPeer + other.UnknownPeer,
            CookiesSent = CookiesSent + other.CookiesSent,
            RateLimited = RateLimited + other.RateLimited,
            Dropped = Dropped.Plus(other.Dropped),
        };
    }
}

/// <summary>Dropped datagrams (and inner packets) by what was wrong with them.</summary>
public sealed class DropStatus
{
    /// <summary>The seal's tag or a handshake MAC or decryption failed: forged, corrupted or for other keys.</summary>
    public long AuthFailed { get; set; }

    /// <summary>Already received (replay window), or an initiation not newer than the last one accepted.</summary>
    public long Replay { get; set; }

    /// <summary>The receiver index names no live keys (or the datagram is a type this side never takes).</summary>
    public long UnknownSession { get; set; }

    /// <summary>Does not parse: too short, bad version or type, bad lengths, paths or ack ranges.</summary>
    public long Malformed { get; set; }

    /// <summary>Proxy: a router's inner packet whose source address is outside its allowed prefixes (cryptokey routing).</summary>
    public long DisallowedSource { get; set; }

    public long Total => AuthFailed + Replay + UnknownSession + Malformed + DisallowedSource;

    /// <summary>Adds engine drop counters, each reason to its class.</summary>
    public void Add(DropCounters drops)
    {
        ArgumentNullException.ThrowIfNull(drops);
        foreach (var reason in Enum.GetValues<DropReason>())
        {
            var n = drops[reason];
            switch (reason)
            {
                case DropReason.None:
                    break;
                case DropReason.AuthenticationFailed:
                    AuthFailed += n;
                    break;
                case DropReason.Duplicate:
                    Replay += n;
                    break;
                case DropReason.UnknownSession:
                    UnknownSession += n;
                    break;
                default:
                    Malformed += n;
                    break;
            }
        }
    }

    public DropStatus Plus(DropStatus other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new DropStatus
        {
            AuthFailed = AuthFailed + other.AuthFailed,
            Replay = Replay + other.Replay,
            UnknownSession = UnknownSession + other.UnknownSession,
            Malformed = Malformed + other.Malformed,
            DisallowedSource = DisallowedSource + other.DisallowedSource,
        };
    }
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

    /// <summary>Data packets (copies included) sent as DataExpress or DataExpressOnPath (docs/engine.md, "Express delivery").</summary>
    public long ExpressSent { get; set; }

    /// <summary>Received express packets released ahead of other flows' holes.</summary>
    public long ExpressReleased { get; set; }

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

    /// <summary>The path's congestion window, kB (10^3 bytes).</summary>
    public double WindowKb { get; set; }

    /// <summary>Bytes sent on the path and not yet acknowledged or declared lost, kB.</summary>
    public double InFlightKb { get; set; }

    /// <summary>The engine's estimate of the path's forward queueing delay (one-way delay above its minimum), ms.</summary>
    public double QueueDelayMs { get; set; }

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
