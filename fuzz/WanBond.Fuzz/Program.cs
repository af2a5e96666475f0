using System.Globalization;
using WanBond.Fuzz;

// The fuzz harness' command line (fuzz/run drives it; see docs/security.md, "Hostile input"):
//   afl TARGET FILE                the AFL++ entry point (SharpFuzz's fork server; FILE is AFL++'s `@@`)
//   instrument DLL...              adds SharpFuzz's coverage instrumentation to the given assemblies, in place
//   replay TARGET PATH...          runs files or directories of inputs; exit 1 if any throws (crash reproduction)
//   smoke TARGET CORPUS N [SEED]   engine-free: the corpus, then N mutated or random inputs; exit 1 on a throw
//   seed DIR                       writes the seed corpus to DIR/datagram and DIR/handshake
const string Usage = "usage: WanBond.Fuzz afl TARGET FILE | instrument DLL... | replay TARGET PATH... | smoke TARGET CORPUS N [SEED] | seed DIR   (targets: datagram, handshake)";
if (args.Length == 0)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

// First, and before anything touches the Targets class: instrumenting rewrites WanBond.Core.dll, which must
// not be loaded by this process at that moment.
if (args[0] == "instrument" && args.Length >= 2)
{
    foreach (var dll in args.Skip(1))
    {
        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"WanBond.Fuzz: no such assembly: {dll}");
            return 2;
        }
        // Only wanbond's own code: the crypto library and the runtime are not what is under test.
        var types = SharpFuzz.Fuzzer.Instrument(dll, name => name.StartsWith("WanBond.", StringComparison.Ordinal), SharpFuzz.Options.Value);
        Console.WriteLine($"instrumented {Path.GetFileName(dll)}: {types.Count()} types");
    }
    return 0;
}

Func<byte[], string>? TargetOrNull(string name)
{
    if (Targets.All.TryGetValue(name, out var t))
    {
        return t;
    }
    Console.Error.WriteLine($"WanBond.Fuzz: unknown target '{name}' (targets: {string.Join(", ", Targets.All.Keys)})");
    return null;
}

switch (args[0])
{
    case "afl" when args.Length == 3:
    {
        if (TargetOrNull(args[1]) is not { } target)
        {
            return 2;
        }
        // The input comes from the file AFL++ names (`@@`), read afresh on every run, and never from the stream
        // SharpFuzz offers: SharpFuzz 2.3 copies stdin once before AFL++ has written the first input, so under
        // load the first dry run saw an empty input, no coverage, and afl-fuzz aborted ("No instrumentation
        // detected"). The file does not exist yet on SharpFuzz's warm-up run, whose trace it discards.
        var inputPath = args[2];
        SharpFuzz.Fuzzer.Run(_ => target(File.Exists(inputPath) ? File.ReadAllBytes(inputPath) : []));
        return 0;
    }
    case "replay" when args.Length >= 3:
    {
        if (TargetOrNull(args[1]) is not { } target)
        {
            return 2;
        }
        var failed = 0;
        var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
        foreach (var file in files)
        {
            try
            {
                Console.WriteLine($"{Path.GetFileName(file)}: {target(File.ReadAllBytes(file))}");
            }
            catch (Exception e)
            {
                failed++;
                Console.WriteLine($"{Path.GetFileName(file)}: CRASH {e.GetType().Name}: {e.Message}");
                Console.WriteLine(e.StackTrace);
            }
        }
        Console.WriteLine($"{files.Count} inputs, {failed} crashed");
        return failed == 0 ? 0 : 1;
    }
    case "smoke" when args.Length is 4 or 5:
    {
        if (TargetOrNull(args[1]) is null)
        {
            return 2;
        }
        if (!Directory.Exists(args[2]) || !int.TryParse(args[3], CultureInfo.InvariantCulture, out var n) || n < 0)
        {
            Console.Error.WriteLine($"WanBond.Fuzz smoke: CORPUS must be a directory and N a count ({args[2]}, {args[3]})");
            return 2;
        }
        var seed = args.Length == 5 && int.TryParse(args[4], CultureInfo.InvariantCulture, out var s) ? s : 1;
        var result = SmokeRun.Run(args[1], SmokeRun.ReadCorpus(args[2]), n, seed);
        Console.WriteLine($"{args[1]}: {result.Executions} inputs in {result.Elapsed.TotalSeconds:F1} s, {result.Failures.Count} crashed");
        foreach (var (label, count) in result.Labels)
        {
            Console.WriteLine($"  {count,8}  {label}");
        }
        foreach (var (input, error) in result.Failures.Take(5))
        {
            Console.WriteLine($"CRASH on {Convert.ToHexString(input)}: {error}");
        }
        return result.Failures.Count == 0 ? 0 : 1;
    }
    case "seed" when args.Length == 2:
        Seeds.Write(args[1]);
        Console.WriteLine($"seed corpus written to {args[1]}");
        return 0;
    default:
        Console.Error.WriteLine(Usage);
        return 2;
}
