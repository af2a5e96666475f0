using WanBond.Fuzz;
using Xunit.Abstractions;

namespace WanBond.Fuzz.Tests;

/// <summary>
/// A short fuzz run on every CI run, without AFL++: each target gets its committed seed corpus (which holds the
/// inputs that once crashed the proxy) and a few thousand inputs mutated from it or random, through the very entry
/// points fuzz/run hands to AFL++. None may throw, and the inputs must get past the first checks (each target's
/// labels show how far they got), so a harness that silently stopped reaching the parsers fails too.
/// </summary>
public sealed class FuzzSmokeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("datagram", 3000, new[] { "proxy:answered", "proxy:opened-Data", "proxy:opened-Probe", "proxy:sealed-drop", "proxy:mac1", "peer:accepted1" })]
    [InlineData("handshake", 4000, new[] { "raw-initiation:answered", "mutated-initiation:answered", "mutated-response:accepted", "mutated-response:AuthenticationFailed", "cookie:accepted", "hostile:answered", "hostile:read-BadPath" })]
    public void Target_survives_its_corpus_and_mutated_inputs_and_reaches_deep(string target, int mutations, string[] mustReach)
    {
        var corpus = SmokeRun.ReadCorpus(Path.Combine(RepoRoot(), "fuzz", "corpus", target));
        Assert.True(corpus.Count >= 10, $"the {target} corpus has only {corpus.Count} inputs");
        var result = SmokeRun.Run(target, corpus, mutations, seed: Environment.TickCount);
        output.WriteLine($"{target}: {result.Executions} inputs in {result.Elapsed.TotalSeconds:F1} s");
        foreach (var (label, count) in result.Labels)
        {
            output.WriteLine($"  {count,6}  {label}");
        }
        var crashes = string.Join("\n", result.Failures.Take(3).Select(f => $"{Convert.ToHexString(f.Input)}: {f.Error}"));
        Assert.True(result.Failures.Count == 0, $"{result.Failures.Count} inputs threw (reproduce: dotnet WanBond.Fuzz.dll replay {target} FILE):\n{crashes}");
        var reached = result.Labels.Keys.SelectMany(l => l.Split(' ')).ToHashSet(StringComparer.Ordinal);
        foreach (var label in mustReach)
        {
            Assert.True(reached.Contains(label), $"no input reached '{label}'; reached: {string.Join(", ", reached)}");
        }
    }

    [Fact]
    public void Every_corpus_input_replays_the_same_way_twice()
    {
        // Targets start from fresh state for every input, so a crash found by AFL++ reproduces from its file alone.
        foreach (var target in Targets.All.Keys)
        {
            foreach (var input in SmokeRun.ReadCorpus(Path.Combine(RepoRoot(), "fuzz", "corpus", target)))
            {
                var first = Targets.All[target](input);
                Assert.Equal(first, Targets.All[target](input));
            }
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "WanBond.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("cannot find WanBond.sln above " + AppContext.BaseDirectory);
    }
}
