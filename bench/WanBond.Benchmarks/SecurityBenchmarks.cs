using BenchmarkDotNet.Attributes;
using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Benchmarks;

/// <summary>
/// The cost of the security layer: sealing and opening one 1400-byte data packet with
/// ChaCha20-Poly1305 as the daemons do it (OpenSSL, where libcrypto loads) and through libsodium (the
/// fallback), against the test-only null seal, same run; and one whole Noise IK handshake
/// (both sides). Handshakes per second per core = 1 s / the handshake's mean.
/// Run: dotnet run -c Release --project bench/WanBond.Benchmarks -- --filter '*Security*'
/// </summary>
[MemoryDiagnoser]
// Not sealed: BenchmarkDotNet derives from benchmark classes.
#pragma warning disable CA1063 // a benchmark has no finalizer or subclasses of its own
public class SecurityBenchmarks : IDisposable
#pragma warning restore CA1063
{
    private const int Payload = 1400;
    private readonly byte[] _datagram = new byte[ClearHeader.Size + Payload + 16];
    private readonly byte[] _handshake = new byte[512];
    private ChaChaPolySeal _sealer = null!;
    private ChaChaPolySeal _opener = null!;
    private ChaChaPolySeal _sodiumSealer = null!;
    private ChaChaPolySeal _sodiumOpener = null!;
    private readonly NullSeal _null = new();
    private StaticKeyPair _router = null!;
    private StaticKeyPair _proxy = null!;
    private HandshakeResponder _responder = null!;
    private CookieJar _cookies = null!;
    private ulong _nonce;
    private uint _index = 1;

    [GlobalSetup]
    public void Setup()
    {
        var key = new byte[ChaChaPolySeal.KeySize];
        Random.Shared.NextBytes(key);
        _sealer = new ChaChaPolySeal(key);
        _opener = new ChaChaPolySeal(key);
        _sodiumSealer = new ChaChaPolySeal(key, preferOpenSsl: false);
        _sodiumOpener = new ChaChaPolySeal(key, preferOpenSsl: false);
        Console.WriteLine($"// ChaCha20-Poly1305 implementation: {ChaChaPolySeal.Implementation}");
        _router = StaticKeyPair.Generate();
        _proxy = StaticKeyPair.Generate();
        _responder = new HandshakeResponder(_proxy);
        _cookies = new CookieJar(2);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _sealer.Dispose();
        _opener.Dispose();
        _sodiumSealer.Dispose();
        _sodiumOpener.Dispose();
        _responder.Dispose();
        _router.Dispose();
        _proxy.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true, Description = "null seal: seal + open, 1400 B")]
    public int NullSealRoundTrip() => RoundTrip(_null, _null);

    [Benchmark(Description = "ChaCha20-Poly1305 (as deployed): seal + open, 1400 B")]
    public int ChaChaRoundTrip() => RoundTrip(_sealer, _opener);

    [Benchmark(Description = "ChaCha20-Poly1305 (libsodium): seal + open, 1400 B")]
    public int SodiumRoundTrip() => RoundTrip(_sodiumSealer, _sodiumOpener);

    [Benchmark(Description = "Noise IK handshake, both sides")]
    public int Handshake()
    {
        var index = _index++;
        using var initiator = new HandshakeInitiator(_router, _proxy.PublicKey, index, 2, 1452, index, _cookies);
        var n = initiator.WriteInitiation(_handshake, 0, 0, 0);
        if (!_responder.TryReadInitiation(_handshake.AsSpan(0, n), out var handshake, out _) || handshake is null)
        {
            throw new InvalidOperationException("initiation refused");
        }
        using (handshake)
        {
            n = handshake.WriteResponse(index + 1_000_000, _handshake, 0, 0, out var responderKeys);
            if (!initiator.TryReadResponse(_handshake.AsSpan(0, n), 0, out var initiatorKeys, out _))
            {
                throw new InvalidOperationException("response refused");
            }
            responderKeys.Dispose();
            initiatorKeys?.Dispose();
        }
        return n;
    }

    private int RoundTrip(IPacketSeal seal, IPacketSeal open)
    {
        var header = new ClearHeader(PacketType.Data, 7, 0, _nonce++);
        header.Write(_datagram);
        var len = seal.Seal(_datagram, ClearHeader.Size, Payload, header.Nonce);
        return open.TryOpen(_datagram.AsSpan(0, len), ClearHeader.Size, header.Nonce, out var plain)
            ? plain
            : throw new InvalidOperationException("open failed");
    }
}
