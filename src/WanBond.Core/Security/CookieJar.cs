namespace WanBond.Core.Security;

/// <summary>
/// The initiator's cookies, one per path: a cookie is bound to the source address it was sent to, and
/// every path has its own (interface, NAT mapping). Kept across handshake attempts, so a retry after a
/// cookie reply carries mac2. Fixed size; no allocation after construction.
/// </summary>
public sealed class CookieJar
{
    /// <summary>A cookie is used for this long after it arrived (the responder's secret lives as long).</summary>
    public const long CookieLifetimeUs = CookieChecker.SecretLifetimeUs;

    private readonly byte[] _cookies;
    private readonly long[] _receivedUs;
    private readonly bool[] _has;

    /// <param name="pathCount">Path ids 0 .. pathCount − 1.</param>
    public CookieJar(int pathCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pathCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pathCount, 256);
        _cookies = new byte[pathCount * HandshakeMacs.MacLength];
        _receivedUs = new long[pathCount];
        _has = new bool[pathCount];
    }

    public int PathCount => _has.Length;

    /// <summary>True when a cookie for this path arrived less than <see cref="CookieLifetimeUs"/> ago.</summary>
    public bool HasCookie(byte pathId, long nowUs) =>
        pathId < _has.Length && _has[pathId] && nowUs - _receivedUs[pathId] < CookieLifetimeUs;

    /// <summary>Forgets every cookie (e.g. the responder's key changed).</summary>
    public void Clear() => Array.Clear(_has);

    internal ReadOnlySpan<byte> Get(byte pathId, long nowUs) =>
        HasCookie(pathId, nowUs) ? _cookies.AsSpan(pathId * HandshakeMacs.MacLength, HandshakeMacs.MacLength) : default;

    internal void Store(byte pathId, ReadOnlySpan<byte> cookie, long nowUs)
    {
        if (pathId >= _has.Length)
        {
            return;
        }

        cookie[..HandshakeMacs.MacLength].CopyTo(_cookies.AsSpan(pathId * HandshakeMacs.MacLength));
        _receivedUs[pathId] = nowUs;
        _has[pathId] = true;
    }
}
