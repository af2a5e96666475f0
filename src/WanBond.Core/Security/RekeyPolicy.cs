namespace WanBond.Core.Security;

/// <summary>
/// When keys are replaced and when they stop being usable, after WireGuard's timers
/// (whitepaper §6.1–6.2), in microseconds. Only the initiator (the router) starts a rekey, so the two
/// sides never race each other with simultaneous handshakes; the responder merely stops using keys
/// that have grown too old.
/// </summary>
public sealed record RekeyPolicy
{
    /// <summary>Default: WireGuard's timers, with a 30 s grace for the previous receive keys.</summary>
    public static RekeyPolicy Default { get; } = new();

    /// <summary>The initiator starts a new handshake when its current keys are this old (2 minutes).</summary>
    public long RekeyAfterUs { get; init; } = 120_000_000;

    /// <summary>Keys this old are neither used to send nor accepted on receipt (3 minutes).</summary>
    public long RejectAfterUs { get; init; } = 180_000_000;

    /// <summary>The initiator rekeys after sending this many datagrams under one key (2^60).</summary>
    public ulong RekeyAfterMessages { get; init; } = 1UL << 60;

    /// <summary>No key seals more datagrams than this (2^64 − 2^13 − 1, as WireGuard): far below the nonce limit.</summary>
    public ulong RejectAfterMessages { get; init; } = ulong.MaxValue - (1UL << 13);

    /// <summary>
    /// How long the previous receive keys stay after new keys take over, so datagrams already in flight
    /// on slow paths (modem buffers hold seconds at worst) still open. Far longer than any path delay.
    /// </summary>
    public long PreviousKeyGraceUs { get; init; } = 30_000_000;

    /// <summary>An unanswered initiation is retried after this long, with a fresh ephemeral key (5 s).</summary>
    public long RekeyTimeoutUs { get; init; } = 5_000_000;

    /// <summary>The initiator gives up retrying after this long without an answer (90 s).</summary>
    public long RekeyAttemptUs { get; init; } = 90_000_000;

    /// <summary>True when the initiator should start a new handshake: no keys, or keys at the age or count limit.</summary>
    public bool NeedsRekey(TransportKeys? current, long nowUs)
    {
        if (current is null)
        {
            return true;
        }

        return current.IsInitiator
            && (nowUs - current.CreatedUs >= RekeyAfterUs || current.MessagesSent >= RekeyAfterMessages);
    }

    /// <summary>May these keys still seal?</summary>
    public bool CanSend(TransportKeys keys, long nowUs) =>
        nowUs - keys.CreatedUs < RejectAfterUs && keys.MessagesSent < RejectAfterMessages;

    /// <summary>May these keys still open?</summary>
    public bool CanReceive(TransportKeys keys, long nowUs) => nowUs - keys.CreatedUs < RejectAfterUs;
}
