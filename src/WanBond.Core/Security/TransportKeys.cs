using System.Buffers.Binary;
using System.Security.Cryptography;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// The outcome of one handshake: a send key and a receive key (each a <see cref="ChaChaPolySeal"/>),
/// the receive side's replay windows, and the pair of indices that name this key pair on the wire.
/// <para>
/// <see cref="LocalIndex"/> is what the peer writes as <c>ReceiverSessionId</c> in the clear header of
/// packets sealed with these keys; <see cref="RemoteIndex"/> is what this side writes. Every handshake
/// chooses fresh indices (as WireGuard does with its receiver index), so the receiver of any packet
/// knows from the header alone which key pair opens it, across a rekey, without trial decryption and
/// without changing the header format.
/// </para>
/// </summary>
public sealed class TransportKeys : IDisposable
{
    /// <param name="localIndex">Our index for this key pair (non-zero).</param>
    /// <param name="remoteIndex">The peer's index for this key pair (non-zero).</param>
    /// <param name="sendKey">32-byte key for what we send.</param>
    /// <param name="receiveKey">32-byte key for what we receive.</param>
    /// <param name="isInitiator">This side initiated the handshake (only the initiator rekeys).</param>
    /// <param name="pathCount">Path ids 0 .. pathCount − 1 are valid; one replay window each.</param>
    /// <param name="createdUs">When the handshake completed on this side.</param>
    /// <param name="windowSize">Per-path replay window.</param>
    /// <param name="insecureNullTransport">
    /// Benchmark only: seal and open with <see cref="NullSeal"/> (no encryption, no authentication) instead of the
    /// keys. The daemons allow it only when the operator asks for it explicitly (docs/security.md, "Benchmark").
    /// </param>
    public TransportKeys(
        uint localIndex,
        uint remoteIndex,
        ReadOnlySpan<byte> sendKey,
        ReadOnlySpan<byte> receiveKey,
        bool isInitiator,
        int pathCount,
        long createdUs,
        int windowSize = ReplayWindow.MinimumSize,
        bool insecureNullTransport = false)
    {
        if (localIndex == 0 || remoteIndex == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(localIndex), "Index 0 means 'no session' on the wire.");
        }

        LocalIndex = localIndex;
        RemoteIndex = remoteIndex;
        IsInitiator = isInitiator;
        CreatedUs = createdUs;
        Replay = new MultipathReplayWindow(pathCount, windowSize);
        Sender = new ChaChaPolySeal(sendKey);
        Receiver = new ChaChaPolySeal(receiveKey);
        SendSeal = insecureNullTransport ? NullSeal.Instance : Sender;
        ReceiveSeal = insecureNullTransport ? NullSeal.Instance : Receiver;
    }

    public uint LocalIndex { get; }

    public uint RemoteIndex { get; }

    public bool IsInitiator { get; }

    public long CreatedUs { get; }

    public int PathCount => Replay.PathCount;

    /// <summary>Seals what this side sends.</summary>
    public ChaChaPolySeal Sender { get; }

    /// <summary>Opens what the peer sends.</summary>
    public ChaChaPolySeal Receiver { get; }

    /// <summary>What seals datagrams sent under these keys: <see cref="Sender"/>, or the null seal in a benchmark.</summary>
    public IPacketSeal SendSeal { get; }

    /// <summary>What opens datagrams received under these keys: <see cref="Receiver"/>, or the null seal in a benchmark.</summary>
    public IPacketSeal ReceiveSeal { get; }

    public MultipathReplayWindow Replay { get; }

    /// <summary>Datagrams sealed with <see cref="Sender"/>.</summary>
    public ulong MessagesSent { get; internal set; }

    /// <summary>Datagrams opened with <see cref="Receiver"/>.</summary>
    public ulong MessagesReceived { get; internal set; }

    public void Dispose()
    {
        Sender.Dispose();
        Receiver.Dispose();
    }

    /// <summary>A random non-zero index. The caller (who holds the table of live indices) retries on a clash.</summary>
    public static uint RandomIndex()
    {
        Span<byte> b = stackalloc byte[4];
        uint index;
        do
        {
            RandomNumberGenerator.Fill(b);
            index = BinaryPrimitives.ReadUInt32LittleEndian(b);
        }
        while (index == 0);
        return index;
    }
}
