using System.Security.Cryptography;

namespace WanBond.Core.Security;

/// <summary>
/// Per-source token buckets for handshake messages, in a fixed-size table: memory never grows with the
/// number of sources, however many a flood spoofs.
/// <para>
/// The table is 4-way set-associative, indexed and tagged by a keyed 64-bit hash of the source (keyed with
/// a random per-instance salt, so nobody can aim sources at one set). A source not in its set takes a way
/// whose bucket has refilled completely (forgetting it loses nothing: a new entry starts full), or, when
/// every way is busy, the way with the most tokens (the least information lost). Under a spoofed flood a
/// real abuser can thus be evicted and start over with a full bucket: that costs at most one burst per
/// eviction, and spoofed floods are what the cookie (mac2) stops anyway; this limiter bounds what a
/// source that can receive (and so holds cookies) may make the responder compute.
/// </para>
/// </summary>
public sealed class HandshakeRateLimiter
{
    private const int Ways = 4;

    private readonly ulong[] _tags;
    private readonly long[] _tokens; // microseconds of credit: one message costs _costUs
    private readonly long[] _lastUs;
    private readonly int _setMask;
    private readonly long _costUs;
    private readonly long _maxTokens;
    private readonly int _salt1;
    private readonly int _salt2;

    /// <param name="capacity">Sources tracked at once (rounded up to a power of two, at least 4).</param>
    /// <param name="messagesPerSecond">Sustained rate per source (WireGuard: 20).</param>
    /// <param name="burst">Messages a quiet source may send at once (WireGuard: 5).</param>
    public HandshakeRateLimiter(int capacity = 4096, int messagesPerSecond = 20, int burst = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, Ways);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 24);
        ArgumentOutOfRangeException.ThrowIfLessThan(messagesPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(messagesPerSecond, 1_000_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        int entries = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _tags = new ulong[entries];
        _tokens = new long[entries];
        _lastUs = new long[entries];
        _setMask = entries / Ways - 1;
        _costUs = 1_000_000 / messagesPerSecond;
        _maxTokens = _costUs * burst;
        Span<byte> salt = stackalloc byte[8];
        RandomNumberGenerator.Fill(salt);
        _salt1 = BitConverter.ToInt32(salt);
        _salt2 = BitConverter.ToInt32(salt[4..]);
    }

    /// <summary>Table entries: the bound on memory, fixed at construction.</summary>
    public int Capacity => _tags.Length;

    /// <summary>Entries in use (tests, metrics).</summary>
    public int Occupied
    {
        get
        {
            int n = 0;
            foreach (var t in _tags)
            {
                n += t != 0 ? 1 : 0;
            }

            return n;
        }
    }

    /// <summary>Takes one token from <paramref name="source"/>'s bucket. No allocation.</summary>
    /// <param name="source">The source as the daemon identifies it: the IP address bytes (an IPv6 /64 prefix, as WireGuard, so one host cannot rotate through its addresses).</param>
    /// <returns>False when the source has exceeded its rate: drop the message without computing.</returns>
    public bool Allow(ReadOnlySpan<byte> source, long nowUs)
    {
        ulong tag = Tag(source);
        int set = (int)(tag & (uint)_setMask) * Ways;
        int victim = -1;
        long victimTokens = -1;
        for (int i = set; i < set + Ways; i++)
        {
            if (_tags[i] == tag)
            {
                long tokens = Refilled(i, nowUs);
                _lastUs[i] = nowUs;
                if (tokens < _costUs)
                {
                    _tokens[i] = tokens;
                    return false;
                }

                _tokens[i] = tokens - _costUs;
                return true;
            }

            long t = _tags[i] == 0 ? long.MaxValue : Refilled(i, nowUs);
            if (t > victimTokens)
            {
                victim = i;
                victimTokens = t;
            }
        }

        _tags[victim] = tag;
        _lastUs[victim] = nowUs;
        _tokens[victim] = _maxTokens - _costUs;
        return true;
    }

    private long Refilled(int i, long nowUs)
    {
        long elapsed = Math.Max(0, nowUs - _lastUs[i]);
        return elapsed >= _maxTokens ? _maxTokens : Math.Min(_maxTokens, _tokens[i] + elapsed);
    }

    private ulong Tag(ReadOnlySpan<byte> source)
    {
        var a = new HashCode();
        a.Add(_salt1);
        a.AddBytes(source);
        var b = new HashCode();
        b.Add(_salt2);
        b.AddBytes(source);
        b.Add(source.Length);
        // 0 marks an empty entry, so no real tag may be 0.
        return (((ulong)(uint)a.ToHashCode() << 32) | (uint)b.ToHashCode()) | 1UL << 63;
    }
}

/// <summary>
/// Decides when the responder is "under load" and must demand cookies: when handshake messages arrive
/// faster than <c>messagesPerSecond</c> (a token bucket over all sources), and for a second after that
/// (as WireGuard keeps its flag up for a second), so the state does not flap.
/// </summary>
public sealed class HandshakeLoadDetector
{
    /// <summary>How long the load flag stays up after the last overflow.</summary>
    public const long HoldUs = 1_000_000;

    private readonly long _costUs;
    private readonly long _maxTokens;
    private long _tokens;
    private long _lastUs;
    private long _loadedUntilUs = long.MinValue;
    private bool _started;

    /// <param name="messagesPerSecond">The handshake rate this responder handles comfortably (well under its DH rate).</param>
    /// <param name="burst">Messages accepted at once before the flag goes up.</param>
    public HandshakeLoadDetector(int messagesPerSecond = 500, int burst = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messagesPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(messagesPerSecond, 1_000_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _costUs = 1_000_000 / messagesPerSecond;
        _maxTokens = _costUs * burst;
    }

    /// <summary>Counts one incoming handshake message and says whether the responder is under load now.</summary>
    public bool RecordMessage(long nowUs)
    {
        if (!_started)
        {
            _tokens = _maxTokens;
            _lastUs = nowUs;
            _started = true;
        }

        _tokens = Math.Min(_maxTokens, _tokens + Math.Max(0, nowUs - _lastUs));
        _lastUs = nowUs;
        if (_tokens >= _costUs)
        {
            _tokens -= _costUs;
        }
        else
        {
            _loadedUntilUs = nowUs + HoldUs;
        }

        return IsUnderLoad(nowUs);
    }

    public bool IsUnderLoad(long nowUs) => nowUs < _loadedUntilUs;
}
