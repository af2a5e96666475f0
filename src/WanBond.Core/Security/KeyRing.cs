using System.Buffers.Binary;
using WanBond.Core.Wire;

namespace WanBond.Core.Security;

/// <summary>
/// A session's key pairs across rekeys, as one <see cref="IPacketSeal"/>: <see cref="Current"/> seals
/// everything sent; <see cref="Current"/>, <see cref="Previous"/> (for a grace period after a rekey) and
/// <see cref="Next"/> (responder only: keys from a handshake the initiator has not yet used) open what
/// arrives. Which one opens a datagram is named by the <c>ReceiverSessionId</c> in its clear header,
/// which is the <see cref="TransportKeys.LocalIndex"/> of that key pair.
/// <para>
/// Key confirmation (as WireGuard): the initiator switches to new keys as soon as it has read the
/// response; the responder keeps sending with its old keys until the first datagram under the new
/// ones arrives, which proves the initiator has them, and then promotes <see cref="Next"/> to current.
/// </para>
/// <para>
/// Not thread-safe, like everything in Core. No allocation per datagram.
/// </para>
/// </summary>
public sealed class KeyRing : IPacketSeal, IDisposable
{
    private const int RetiredCapacity = 8;

    private readonly uint[] _retired = new uint[RetiredCapacity];
    private int _retiredCount;
    private long _previousSinceUs;
    private long _lastNowUs;

    public KeyRing(RekeyPolicy? policy = null)
    {
        Policy = policy ?? RekeyPolicy.Default;
    }

    public RekeyPolicy Policy { get; }

    /// <summary>Seals what is sent; null before the first handshake (and after the keys expired).</summary>
    public TransportKeys? Current { get; private set; }

    /// <summary>The keys <see cref="Current"/> replaced, kept to open datagrams still in flight.</summary>
    public TransportKeys? Previous { get; private set; }

    /// <summary>Responder only: keys from the latest handshake, until the initiator's first datagram confirms them.</summary>
    public TransportKeys? Next { get; private set; }

    public int TagLength => ChaChaPolySeal.TagSize;

    /// <summary>The <c>ReceiverSessionId</c> to write on every datagram sent now (0 when there are no send keys).</summary>
    public uint SendIndex => Current?.RemoteIndex ?? 0;

    /// <summary>True when <see cref="Current"/> exists and is within its age and message limits.</summary>
    public bool CanSend(long nowUs) => Current is { } c && Policy.CanSend(c, nowUs);

    /// <summary>Initiator: time to start a new handshake (no keys yet, or the current ones are due).</summary>
    public bool NeedsRekey(long nowUs) => Policy.NeedsRekey(Current, nowUs);

    /// <summary>True when a datagram with this <c>ReceiverSessionId</c> belongs to this ring.</summary>
    public bool OwnsIndex(uint index) => Find(index) is not null;

    /// <summary>
    /// Adds the keys of a completed handshake. The initiator's become <see cref="Current"/> at once (the
    /// old current becomes <see cref="Previous"/>); the responder's wait in <see cref="Next"/> for confirmation.
    /// The ring owns (and eventually disposes) the keys.
    /// </summary>
    public void Install(TransportKeys keys, long nowUs)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _lastNowUs = nowUs;
        if (keys.IsInitiator)
        {
            Retire(Next);
            Next = null;
            Promote(keys, nowUs);
        }
        else
        {
            Retire(Next);
            Next = keys;
        }
    }

    /// <summary>
    /// Drops keys past their lifetime: <see cref="Previous"/> after its grace period, any key pair older than
    /// <see cref="RekeyPolicy.RejectAfterUs"/>. Call from the session's timer and before sending.
    /// </summary>
    public void Expire(long nowUs)
    {
        _lastNowUs = nowUs;
        if (Previous is { } p && (nowUs - _previousSinceUs >= Policy.PreviousKeyGraceUs || !Policy.CanReceive(p, nowUs)))
        {
            Retire(p);
            Previous = null;
        }

        if (Current is { } c && !Policy.CanReceive(c, nowUs))
        {
            Retire(c);
            Current = null;
        }

        if (Next is { } n && !Policy.CanReceive(n, nowUs))
        {
            Retire(n);
            Next = null;
        }
    }

    /// <summary>When <see cref="Expire"/> or a rekey next has something to do (long.MaxValue: nothing pending).</summary>
    public long NextTimerUs
    {
        get
        {
            long t = long.MaxValue;
            if (Previous is { } p)
            {
                t = Math.Min(t, Math.Min(_previousSinceUs + Policy.PreviousKeyGraceUs, p.CreatedUs + Policy.RejectAfterUs));
            }

            if (Current is { } c)
            {
                t = Math.Min(t, c.CreatedUs + (c.IsInitiator ? Policy.RekeyAfterUs : Policy.RejectAfterUs));
            }

            if (Next is { } n)
            {
                t = Math.Min(t, n.CreatedUs + Policy.RejectAfterUs);
            }

            return t;
        }
    }

    /// <summary>
    /// Copies the local indices of key pairs dropped since the last call, so the daemon can remove them
    /// from its index → session table. Returns how many were copied.
    /// </summary>
    public int DrainRetiredIndices(Span<uint> destination)
    {
        int n = Math.Min(destination.Length, _retiredCount);
        _retired.AsSpan(0, n).CopyTo(destination);
        _retired.AsSpan(n, _retiredCount - n).CopyTo(_retired);
        _retiredCount -= n;
        return n;
    }

    /// <summary>
    /// Seals with <see cref="Current"/>. The header's <c>ReceiverSessionId</c> (bytes 1..4) must already be
    /// <see cref="SendIndex"/>: the header is associated data, so it cannot change after sealing.
    /// </summary>
    /// <exception cref="InvalidOperationException">No send keys, the key's message limit reached, or the header names other keys.</exception>
    public int Seal(Span<byte> datagram, int headerLength, int plainLength, ulong nonce)
    {
        var keys = Current ?? throw new InvalidOperationException("No transport keys yet: complete a handshake before sending.");
        if (keys.MessagesSent >= Policy.RejectAfterMessages)
        {
            throw new InvalidOperationException("The current keys reached their message limit: rekey.");
        }

        if (headerLength < ClearHeader.Size || BinaryPrimitives.ReadUInt32BigEndian(datagram[1..]) != keys.RemoteIndex)
        {
            throw new InvalidOperationException("The clear header must name KeyRing.SendIndex as its receiver session id.");
        }

        int length = keys.SendSeal.Seal(datagram, headerLength, plainLength, nonce);
        keys.MessagesSent++;
        return length;
    }

    /// <summary><see cref="IPacketSeal"/> form: the time is the last one the ring was given.</summary>
    public bool TryOpen(Span<byte> datagram, int headerLength, ulong nonce, out int plainLength) =>
        TryOpen(datagram, headerLength, nonce, _lastNowUs, out plainLength, out _);

    /// <summary>
    /// Finds the key pair named by the header's <c>ReceiverSessionId</c>, drops replays before decrypting,
    /// opens in place, then records the nonce in that key's replay window. Never throws on bad input.
    /// </summary>
    /// <param name="reason">
    /// <see cref="DropReason.UnknownSession"/> (no live keys with that index), <see cref="DropReason.Duplicate"/>
    /// (replayed, or older than the replay window), <see cref="DropReason.AuthenticationFailed"/>.
    /// </param>
    public bool TryOpen(Span<byte> datagram, int headerLength, ulong nonce, long nowUs, out int plainLength, out DropReason reason)
    {
        plainLength = 0;
        _lastNowUs = nowUs;
        if (headerLength < ClearHeader.Size || datagram.Length < headerLength)
        {
            reason = DropReason.Truncated;
            return false;
        }

        var keys = Find(BinaryPrimitives.ReadUInt32BigEndian(datagram[1..]));
        if (keys is null || !Policy.CanReceive(keys, nowUs))
        {
            reason = DropReason.UnknownSession;
            return false;
        }

        if (!keys.Replay.IsFresh(nonce))
        {
            reason = DropReason.Duplicate;
            return false;
        }

        if (!keys.ReceiveSeal.TryOpen(datagram, headerLength, nonce, out plainLength))
        {
            reason = DropReason.AuthenticationFailed;
            return false;
        }

        keys.Replay.TryAccept(nonce);
        keys.MessagesReceived++;
        if (ReferenceEquals(keys, Next))
        {
            // The initiator used the new keys: it has them, so they become ours for sending too.
            Next = null;
            Promote(keys, nowUs);
        }

        reason = DropReason.None;
        return true;
    }

    /// <summary>Drops every key pair (their indices go to <see cref="DrainRetiredIndices"/>): nothing seals or opens afterwards.</summary>
    public void Clear()
    {
        Retire(Previous);
        Retire(Current);
        Retire(Next);
        Current = Previous = Next = null;
    }

    public void Dispose()
    {
        Current?.Dispose();
        Previous?.Dispose();
        Next?.Dispose();
        Current = Previous = Next = null;
    }

    private TransportKeys? Find(uint index)
    {
        if (index == 0)
        {
            return null;
        }

        if (Current?.LocalIndex == index)
        {
            return Current;
        }

        if (Previous?.LocalIndex == index)
        {
            return Previous;
        }

        return Next?.LocalIndex == index ? Next : null;
    }

    private void Promote(TransportKeys keys, long nowUs)
    {
        Retire(Previous);
        Previous = Current;
        _previousSinceUs = nowUs;
        Current = keys;
    }

    private void Retire(TransportKeys? keys)
    {
        if (keys is null)
        {
            return;
        }

        if (_retiredCount == RetiredCapacity)
        {
            // The daemon has not drained for a long time; forget the oldest (its table keeps a stale entry
            // that OwnsIndex rejects).
            _retired.AsSpan(1).CopyTo(_retired);
            _retiredCount--;
        }

        _retired[_retiredCount++] = keys.LocalIndex;
        keys.Dispose();
    }
}
