using BenchmarkDotNet.Attributes;
using WanBond.Core.Wire;

namespace WanBond.Benchmarks;

/// <summary>Header, seal and ack-frame costs per packet; "Allocated" must read 0 B.</summary>
[MemoryDiagnoser]
public class WireBenchmarks
{
    private readonly byte[] _datagram = new byte[1472];
    private readonly byte[] _plain = new byte[AckFrame.MaxSize];
    private readonly AckBlock[] _blocks = new AckBlock[AckFrame.MaxBlocks];
    private readonly AckRange[] _ranges = new AckRange[AckFrame.MaxBlocks * (AckFrame.MaxRanges + 1)];
    private readonly NullSeal _seal = new();
    private ulong _pn;

    [Benchmark(Description = "data packet: header + seal + parse + open (null seal)")]
    public int DataRoundTrip()
    {
        var header = new ClearHeader(PacketType.Data, 7, 1, _pn++);
        header.Write(_datagram);
        DataFrame.WriteHeader(_datagram.AsSpan(ClearHeader.Size), (uint)_pn);
        var len = _seal.Seal(_datagram, ClearHeader.Size, 1400, header.Nonce);
        if (!ClearHeader.TryParse(_datagram.AsSpan(0, len), out var parsed, out _)
            || !_seal.TryOpen(_datagram.AsSpan(0, len), ClearHeader.Size, parsed.Nonce, out var plain))
        {
            throw new InvalidOperationException("round trip failed");
        }
        return plain;
    }

    [Benchmark(Description = "ack frame, 2 paths x 8 ranges: write + parse")]
    public int AckRoundTrip()
    {
        var r = 0;
        for (var b = 0; b < 2; b++)
        {
            for (var i = 0; i < 8; i++)
            {
                var top = 10_000UL - (ulong)(i * 10);
                _ranges[r++] = new AckRange(top - 5, top);
            }
            _blocks[b] = new AckBlock { PathId = (byte)b, AckDelayUs = 1000, RxTimeLargestUs = 5, RangeStart = b * 8, RangeCount = 8 };
        }
        var n = AckFrame.Write(_plain, _blocks.AsSpan(0, 2), _ranges.AsSpan(0, r));
        return AckFrame.TryParse(_plain.AsSpan(0, n), _blocks, _ranges, out var blocks, out _, out _)
            ? blocks
            : throw new InvalidOperationException("ack round trip failed");
    }
}
