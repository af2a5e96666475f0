namespace WanBond.Testbed.Tests;

/// <summary>Where the repository is, found from the test binary upward (demo.sh and bench/ at its root).</summary>
internal static class RepoPaths
{
    public static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "demo.sh")) && Directory.Exists(Path.Combine(d.FullName, "bench")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException("demo.sh not found above " + AppContext.BaseDirectory);
    }
}
