namespace WanBond.Sim;

/// <summary>
/// SplitMix64: a tiny, fast, fully specified generator. The simulator never uses
/// System.Random, whose algorithm is not guaranteed stable across runtime versions,
/// so a seed reproduces a run byte for byte everywhere.
/// </summary>
public struct Rng
{
    private ulong _state;

    public Rng(ulong seed) => _state = seed;

    /// <summary>A generator for one component (a link direction, a workload) derived from the run's seed.</summary>
    public static Rng For(ulong seed, ulong stream)
    {
        var r = new Rng(seed ^ (0x9E3779B97F4A7C15UL * (stream + 1)));
        r.NextUInt64();
        return r;
    }

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 bits of precision.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
