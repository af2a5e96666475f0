using WanBond.Core.Security;

namespace WanBond.Core.Sessions;

/// <summary>
/// What a <see cref="Session"/> needs to run the security layer (docs/security.md): Noise IK handshakes
/// instead of Hello/HelloReply, and a <see cref="KeyRing"/> as its seal. Without it a session runs the
/// clear stand-in seal it is given (the simulator and engine tests use <c>NullSeal</c>).
/// </summary>
public sealed class SessionSecurity
{
    /// <summary>Retry interval of an unanswered handshake while the session has no keys at all (first contact).</summary>
    public const long FirstContactRetryUs = 1_000_000;

    private SessionSecurity(StaticKeyPair? local, StaticPublicKey peer, ulong timestampBaseUs, RekeyPolicy? policy)
    {
        Local = local;
        Peer = peer;
        TimestampBaseUs = timestampBaseUs;
        Policy = policy ?? RekeyPolicy.Default;
    }

    internal StaticKeyPair? Local { get; }

    internal StaticPublicKey Peer { get; }

    internal ulong TimestampBaseUs { get; }

    public RekeyPolicy Policy { get; }

    /// <summary>
    /// Benchmark only: handshakes as usual (with the other prologue), then the null seal instead of
    /// ChaCha20-Poly1305 — no confidentiality, no integrity. Set with <see cref="WithInsecureNullTransport"/>.
    /// </summary>
    public bool InsecureNullTransport { get; private init; }

    /// <summary>The same security with the null-seal transport (benchmark only; both ends must use it).</summary>
    public SessionSecurity WithInsecureNullTransport() => new(Local, Peer, TimestampBaseUs, Policy) { InsecureNullTransport = true };

    /// <summary>
    /// The router's side: it starts every handshake.
    /// </summary>
    /// <param name="local">The router's static key pair.</param>
    /// <param name="proxy">The proxy's static public key.</param>
    /// <param name="wallClockUs">
    /// Wall-clock microseconds since the Unix epoch at the session's creation time. Initiation timestamps
    /// are this plus the session's elapsed time, so they increase across restarts (the proxy refuses an
    /// initiation that is not newer than the last one it accepted from this router).
    /// </param>
    public static SessionSecurity ForInitiator(StaticKeyPair local, StaticPublicKey proxy, ulong wallClockUs, RekeyPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        return new SessionSecurity(local, proxy, wallClockUs, policy);
    }

    /// <summary>The proxy's side: the daemon reads initiations (<see cref="HandshakeResponder"/>) and hands them to <see cref="Session.AcceptHandshake"/>.</summary>
    public static SessionSecurity ForResponder(RekeyPolicy? policy = null) => new(null, default, 0, policy);
}
