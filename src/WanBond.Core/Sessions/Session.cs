using System.Buffers.Binary;

namespace WanBond.Core.Sessions;

/// <summary>
/// TEMPORARY STAND-IN with the final public surface of the engine: it forwards packets
/// round-robin with no feedback. The real engine replaces this file.
/// Usage (sans-IO): after SubmitInner / ReceiveDatagram / HandleTimeout, drain TryPollDatagram
/// and TryPollInner until they return false, then arm a timer for NextTimeoutUs.
/// </summary>
public sealed class Session
{
    private readonly SessionOptions _options;
    private readonly Queue<byte[]> _sendQueue = new();
    private readonly Queue<byte[]> _delivered = new();
    private int _queuedBytes;
    private int _nextPath;
    private uint _gseq;

    public Session(SessionOptions options, Wire.IPacketSeal seal, SessionRole role, uint localSessionId, long nowUs)
    {
        _options = options;
        _ = seal;
        Role = role;
        LocalSessionId = localSessionId;
        _ = nowUs;
    }

    public SessionRole Role { get; }

    public uint LocalSessionId { get; }

    public bool IsEstablished => true;

    /// <summary>Largest inner packet accepted: MaxDatagramSize minus the 32-byte tunnel overhead.</summary>
    public int InnerMtu => _options.MaxDatagramSize - 32;

    /// <summary>Bytes of inner packets waiting in the sender queue.</summary>
    public int SendQueueBytes => _queuedBytes;

    /// <summary>How long the inner packet last returned by TryPollInner waited in the reorder buffer.</summary>
    public long LastReleaseHoldUs { get; private set; }

    public long NextTimeoutUs => long.MaxValue;

    public bool SubmitInner(ReadOnlySpan<byte> ipPacket, long nowUs)
    {
        if (ipPacket.Length > InnerMtu || _queuedBytes + ipPacket.Length > _options.SendQueueBytes)
        {
            return false;
        }
        _sendQueue.Enqueue(ipPacket.ToArray());
        _queuedBytes += ipPacket.Length;
        return true;
    }

    public void ReceiveDatagram(int pathId, ReadOnlySpan<byte> datagram, long nowUs)
    {
        if (datagram.Length > 4)
        {
            _delivered.Enqueue(datagram[4..].ToArray());
        }
    }

    public bool TryPollDatagram(long nowUs, Span<byte> destination, out int length, out int pathId)
    {
        length = 0;
        pathId = 0;
        if (!_sendQueue.TryDequeue(out var p))
        {
            return false;
        }
        _queuedBytes -= p.Length;
        BinaryPrimitives.WriteUInt32BigEndian(destination, _gseq++);
        p.CopyTo(destination[4..]);
        length = p.Length + 4;
        pathId = _nextPath;
        _nextPath = (_nextPath + 1) % _options.PathCount;
        return true;
    }

    public bool TryPollInner(Span<byte> destination, out int length)
    {
        length = 0;
        if (!_delivered.TryDequeue(out var p))
        {
            return false;
        }
        p.CopyTo(destination);
        length = p.Length;
        LastReleaseHoldUs = 0;
        return true;
    }

    public void HandleTimeout(long nowUs)
    {
    }

    public void SetPathUp(int pathId, bool up, long nowUs)
    {
    }

    public PathStats GetPathStats(int pathId) => new(pathId, true, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
