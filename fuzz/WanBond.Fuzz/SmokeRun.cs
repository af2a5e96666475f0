namespace WanBond.Fuzz;

/// <summary>What an engine-free run did: inputs run, how far they got (label counts), and the inputs that threw.</summary>
public sealed class SmokeResult
{
    public long Executions { get; set; }

    public TimeSpan Elapsed { get; set; }

    public SortedDictionary<string, long> Labels { get; } = new(StringComparer.Ordinal);

    public List<(byte[] Input, Exception Error)> Failures { get; } = [];
}

/// <summary>
/// The CI's bounded fuzz run without an engine: every corpus file, then inputs made by mutating corpus files
/// (bit flips, byte sets, cuts, insertions, splices, XOR masks) and purely random ones, through the same entry
/// points AFL++ drives. Deterministic for a given seed.
/// </summary>
public static class SmokeRun
{
    public static SmokeResult Run(string target, IReadOnlyList<byte[]> corpus, int mutations, int seed)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var entry = Targets.All[target];
        var result = new SmokeResult();
        var random = new Random(seed);
        var started = System.Diagnostics.Stopwatch.StartNew();
        foreach (var input in corpus)
        {
            RunOne(entry, input, result);
        }
        for (var i = 0; i < mutations; i++)
        {
            var input = corpus.Count == 0 || random.Next(8) == 0 ? RandomBytes(random) : Mutate(random, corpus);
            RunOne(entry, input, result);
        }
        result.Elapsed = started.Elapsed;
        return result;
    }

    /// <summary>Reads every file of a corpus directory, in name order.</summary>
    public static List<byte[]> ReadCorpus(string directory) =>
        Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();

    private static void RunOne(Func<byte[], string> entry, byte[] input, SmokeResult result)
    {
        result.Executions++;
        try
        {
            var label = entry(input);
            result.Labels[label] = result.Labels.GetValueOrDefault(label) + 1;
        }
        catch (Exception e)
        {
            result.Failures.Add((input, e));
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var b = new byte[random.Next(0, random.Next(2) == 0 ? 64 : 1600)];
        random.NextBytes(b);
        return b;
    }

    private static byte[] Mutate(Random random, IReadOnlyList<byte[]> corpus)
    {
        var data = new List<byte>(corpus[random.Next(corpus.Count)]);
        var steps = 1 + random.Next(4);
        for (var s = 0; s < steps; s++)
        {
            switch (random.Next(7))
            {
                case 0 when data.Count > 0:
                    var bit = random.Next(data.Count * 8);
                    data[bit / 8] ^= (byte)(1 << (bit % 8));
                    break;
                case 1 when data.Count > 0:
                    data[random.Next(data.Count)] = (byte)(random.Next(3) switch { 0 => 0, 1 => 0xFF, _ => random.Next(256) });
                    break;
                case 2 when data.Count > 0:
                    data.RemoveRange(random.Next(data.Count), 1);
                    break;
                case 3 when data.Count > 1:
                    var cut = random.Next(data.Count);
                    data.RemoveRange(cut, data.Count - cut); // truncation
                    break;
                case 4:
                    data.Insert(random.Next(data.Count + 1), (byte)random.Next(256));
                    break;
                case 5:
                    var other = corpus[random.Next(corpus.Count)];
                    if (other.Length > 0)
                    {
                        var from = random.Next(other.Length);
                        var at = random.Next(data.Count + 1);
                        data.InsertRange(at, other.AsSpan(from, Math.Min(other.Length - from, 1 + random.Next(32))).ToArray());
                    }
                    break;
                default:
                    // A multi-byte field: one of the header's integers, set to an edge value.
                    if (data.Count >= 12)
                    {
                        var at = random.Next(1, 12);
                        data[at] = (byte)(random.Next(2) == 0 ? 0 : 0xFF);
                    }
                    break;
            }
        }
        return [.. data];
    }
}
