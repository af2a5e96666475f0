using System.Security.Cryptography;

namespace WanBond.Testbed.Topology;

/// <summary>
/// Network namespaces made by one run, all named <c>{Prefix}-{role}</c> with a random prefix so
/// concurrent runs and leftovers never collide. Dispose stops every process still inside them
/// (processes this run started there) and deletes them, which also removes their veths.
/// </summary>
internal sealed partial class Namespaces : IDisposable
{
    private readonly List<string> _created = [];

    public Namespaces(string? prefix = null)
    {
        Prefix = prefix ?? NewPrefix();
    }

    public string Prefix { get; }

    public IReadOnlyList<string> Created => _created;

    /// <summary>"wbt" + 4 hex digits: short, because interface names (≤ 15 bytes) carry it too.</summary>
    public static string NewPrefix() => "wbt" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));

    /// <summary>Why namespaces cannot be used here, or null when they can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "needs Linux network namespaces";
        }
        if (Environment.UserName != "root" && Geteuid() != 0)
        {
            return "needs root (creates network namespaces)";
        }
        foreach (var tool in new[] { "ip", "ethtool" })
        {
            if (!Shell.Exists(tool))
            {
                return $"needs '{tool}' (apt-get install iproute2 ethtool)";
            }
        }
        string probe = NewPrefix() + "-probe";
        try
        {
            Shell.Run("ip", ["netns", "add", probe]);
            Shell.Run("ip", ["netns", "del", probe]);
        }
        catch (CommandException e)
        {
            return $"cannot create a network namespace: {e.Message}";
        }
        return null;
    }

    public string Add(string role)
    {
        string name = $"{Prefix}-{role}";
        Shell.Run("ip", ["netns", "add", name]);
        _created.Add(name);
        Exec(name, "ip", "link", "set", "lo", "up");
        // IPv6 off: no router solicitations or MLD reports crossing the emulated links, no link-local addresses
        // on the emulator's interfaces. Route metrics off: repeated runs must not inherit the last run's ssthresh.
        Sysctl(name, "net.ipv6.conf.all.disable_ipv6", "1");
        Sysctl(name, "net.ipv6.conf.default.disable_ipv6", "1");
        Sysctl(name, "net.ipv4.tcp_no_metrics_save", "1");
        return name;
    }

    public string Exec(string ns, params string[] command) => Shell.Run("ip", ["netns", "exec", ns, .. command]);

    public void Sysctl(string ns, string key, string value) => Exec(ns, "sysctl", "-qw", $"{key}={value}");

    public BackgroundProcess Start(string ns, params string[] command) => new("ip", ["netns", "exec", ns, .. command]);

    /// <summary>A veth pair with one end in each namespace, both up.</summary>
    public void Veth(string nsA, string ifA, string nsB, string ifB)
    {
        Shell.Run("ip", ["link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
        Exec(nsA, "ip", "link", "set", ifA, "up");
        Exec(nsB, "ip", "link", "set", ifB, "up");
    }

    /// <summary>
    /// Frames must cross the emulator as real, finished packets: no checksum left to the NIC (the
    /// emulator re-sends bytes as read), no GSO/TSO super-frames (one frame must be one packet on
    /// the emulated link), no GRO merging on the emulator's side.
    /// </summary>
    public void PlainFrames(string ns, string iface) =>
        Exec(ns, "ethtool", "-K", iface, "tx", "off", "tso", "off", "gso", "off", "gro", "off");

    public void Dispose()
    {
        for (int i = _created.Count - 1; i >= 0; i--)
        {
            Delete(_created[i]);
        }
        _created.Clear();
    }

    /// <summary>Deletes every namespace whose name starts with <paramref name="prefix"/>-, with what runs in it.</summary>
    public static int DeleteAll(string prefix)
    {
        int n = 0;
        foreach (var line in Shell.Run("ip", ["netns", "list"], check: false, abortable: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = line.Split(' ')[0];
            if (name.StartsWith(prefix + "-", StringComparison.Ordinal))
            {
                Delete(name);
                n++;
            }
        }
        return n;
    }

    private static void Delete(string name)
    {
        try
        {
            foreach (var pid in Shell.Run("ip", ["netns", "pids", name], check: false, abortable: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(pid.Trim(), out int p) && p > 1)
                {
                    _ = KillProcess(p, 9);
                }
            }
            Shell.Run("ip", ["netns", "del", name], check: false, abortable: false);
        }
        catch (CommandException)
        {
            // best effort: teardown must go on with the other namespaces
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int KillProcess(int pid, int signal);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint Geteuid();
}
