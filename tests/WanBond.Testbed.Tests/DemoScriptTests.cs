using WanBond.Testbed.Topology;

namespace WanBond.Testbed.Tests;

/// <summary>
/// The README's first command, ./demo.sh, refuses clearly before touching anything: one line and a
/// non-zero exit when not root or given an unknown argument. (The full demo run is the smoke run's
/// topology and systems with longer transfers: BenchSmokeTests covers those.)
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class DemoScriptTests
{
    private static (int Code, string Stdout, string Stderr) Run(string file, params string[] args) =>
        Shell.Capture(file, args, TimeSpan.FromSeconds(30), abortable: false);

    [Fact]
    public void Not_root_one_line_and_exit_1()
    {
        // A copy in a world-readable directory: nobody may not be able to read a clone under /root.
        var dir = Directory.CreateTempSubdirectory("wb-demo-test-");
        try
        {
            File.SetUnixFileMode(dir.FullName, (UnixFileMode)0b111_101_101);
            string demo = Path.Combine(dir.FullName, "demo.sh");
            File.Copy(Path.Combine(RepoPaths.Root(), "demo.sh"), demo);
            File.SetUnixFileMode(demo, (UnixFileMode)0b111_101_101);
            // As root, drop to nobody for this run (setpriv, util-linux); otherwise we already are not root.
            var (code, stdout, stderr) = IsRoot()
                ? Run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", demo)
                : Run("bash", demo);
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.Contains("needs root", lines[0], StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }


    [Fact]
    public void Unknown_argument_one_line_and_exit_2()
    {
        var (code, _, stderr) = Run("bash", Path.Combine(RepoPaths.Root(), "demo.sh"), "--frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("unknown argument '--frobnicate'", stderr, StringComparison.Ordinal);
    }

    private static bool IsRoot() => File.ReadAllText("/proc/self/status").Contains("\nUid:\t0\t", StringComparison.Ordinal);
}
