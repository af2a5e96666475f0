using System.Globalization;
using System.Text;
using WanBond.Core.Security;
using WanBond.Testbed.Topology;

namespace WanBond.Testbed.Bench;

/// <summary>
/// wanbond itself: <c>wanbond proxy --config</c> in the proxy namespace and <c>wanbond router --config</c>
/// in the router namespace (issue 3's daemons), a transfer from the client through the tunnel to the
/// server. The router sees each link like a tethered phone: an interface with an address and a default
/// route through it (metric 100 + i). The proxy's public address is 10.50.0.1 on its loopback.
///
/// The config files follow docs/configuration.md, with a fresh key pair per measurement (the tunnel is
/// always encrypted). Where the daemons are missing (<c>wanbond router --help</c> shows no router
/// command) the system reports itself "not yet available" and is never measured.
/// </summary>
internal sealed class WanbondSystem(string scheduler, string? binary, string workDir) : IBenchSystem
{
    public const string ProxyPublicAddress = "10.50.0.1";
    public const int ProxyPort = 4800;

    private BackgroundProcess? _proxy;
    private BackgroundProcess? _router;
    private string? _unavailable;
    private bool _checked;

    public string Name => scheduler == "adaptive" ? "wanbond" : $"wanbond:{scheduler}";

    public string? Unavailable
    {
        get
        {
            if (!_checked)
            {
                _unavailable = Check();
                _checked = true;
            }
            return _unavailable;
        }
    }

    /// <summary>The daemon binary: --wanbond, else the repository's build output, else PATH.</summary>
    public string? Binary { get; private set; }

    private string? Check()
    {
        Binary = binary ?? FindBinary();
        if (Binary is null)
        {
            return "not yet available: no wanbond binary (build src/WanBond, or pass --wanbond PATH)";
        }
        foreach (var role in new[] { "router", "proxy" })
        {
            // An unknown command with --help still exits 0 with the root help, so look for the command's own usage.
            var (code, stdout, _) = Shell.Capture(Binary, [role, "--help"], TimeSpan.FromSeconds(20));
            if (code != 0 || !stdout.Contains($"wanbond {role}", StringComparison.Ordinal) || !stdout.Contains("--config", StringComparison.Ordinal))
            {
                return $"not yet available: '{Binary} {role}' is not a command yet (issue 3's daemons)";
            }
        }
        return null;
    }

    private static string? FindBinary()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var config in new[] { "Release", "Debug" })
            {
                string candidate = Path.Combine(dir.FullName, "src", "WanBond", "bin", config, "net10.0", "wanbond");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "wanbond")).FirstOrDefault(File.Exists);
    }

    public void Prepare(BenchTopology t)
    {
        // "replace", not "add": one run measures wanbond once per scheduler, and every instance prepares the same topology.
        t.Ns.Exec(t.Proxy, "ip", "addr", "replace", ProxyPublicAddress + "/32", "dev", "lo");
        for (int i = 0; i < t.Links; i++)
        {
            t.Ns.Exec(t.Router, "ip", "route", "replace", "default", "via", BenchTopology.ProxyLinkAddress(i),
                "dev", t.RouterLinkInterface(i), "metric", (100 + i).ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Fresh key pairs for one measurement (the tunnel is always encrypted and authenticated).</summary>
    private (string RouterKeyFile, string ProxyKeyFile, StaticPublicKey Router, StaticPublicKey Proxy) MakeKeys()
    {
        var router = StaticKeyPair.Generate();
        var proxy = StaticKeyPair.Generate();
        string routerFile = Path.Combine(workDir, $"wanbond-router-{scheduler}.key");
        string proxyFile = Path.Combine(workDir, $"wanbond-proxy-{scheduler}.key");
        KeyFile.WritePrivateKey(routerFile, router, overwrite: true);
        KeyFile.WritePrivateKey(proxyFile, proxy, overwrite: true);
        return (routerFile, proxyFile, router.PublicKey, proxy.PublicKey);
    }

    /// <summary>router.yml as docs/configuration.md describes it.</summary>
    public string RouterConfig(BenchTopology t, string privateKeyFile, StaticPublicKey proxyKey)
    {
        var sb = new StringBuilder();
        sb.Append("# written by wanbond-testbed bench for one measurement\n");
        sb.Append(CultureInfo.InvariantCulture, $"proxy: {ProxyPublicAddress}:{ProxyPort}\n");
        sb.Append(CultureInfo.InvariantCulture, $"proxy_public_key: {proxyKey}\n");
        sb.Append(CultureInfo.InvariantCulture, $"private_key_file: {privateKeyFile}\n");
        sb.Append("links:\n");
        for (int i = 0; i < t.Links; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - interface: {t.RouterLinkInterface(i)}\n    gateway: {BenchTopology.ProxyLinkAddress(i)}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"lan: {t.RouterLanInterface}\n");
        sb.Append(CultureInfo.InvariantCulture, $"scheduler: {scheduler}\n");
        sb.Append(CultureInfo.InvariantCulture, $"tunnel:\n  name: {t.Ns.Prefix}tr\n");
        // Per run, so concurrent runs (and a daemon on the host) never share a control socket or saved sysctls.
        sb.Append(CultureInfo.InvariantCulture, $"control_socket: {Path.Combine(workDir, "wanbond-router", "router.sock")}\n");
        return sb.ToString();
    }

    /// <summary>proxy.yml as docs/configuration.md describes it, with the one router as its peer (default tunnel address).</summary>
    public string ProxyConfig(BenchTopology t, string privateKeyFile, StaticPublicKey routerKey)
    {
        var sb = new StringBuilder();
        sb.Append("# written by wanbond-testbed bench for one measurement\n");
        sb.Append(CultureInfo.InvariantCulture, $"port: {ProxyPort}\n");
        sb.Append("listen_address: 0.0.0.0\n"); // the testbed's namespaces have IPv6 off
        sb.Append(CultureInfo.InvariantCulture, $"scheduler: {scheduler}\n");
        sb.Append(CultureInfo.InvariantCulture, $"tunnel:\n  name: {t.Ns.Prefix}tp\n");
        sb.Append(CultureInfo.InvariantCulture, $"control_socket: {Path.Combine(workDir, "wanbond-proxy", "proxy.sock")}\n");
        sb.Append(CultureInfo.InvariantCulture, $"private_key_file: {privateKeyFile}\n");
        sb.Append(CultureInfo.InvariantCulture, $"peers:\n  - name: bench-router\n    public_key: {routerKey}\n    allowed_ips: [10.77.0.2/32]\n");
        return sb.ToString();
    }

    public TransferPlan Start(BenchTopology t)
    {
        string bin = Binary ?? throw new InvalidOperationException("wanbond is not available");
        string routerYml = Path.Combine(workDir, $"wanbond-router-{scheduler}.yml");
        string proxyYml = Path.Combine(workDir, $"wanbond-proxy-{scheduler}.yml");
        var keys = MakeKeys();
        File.WriteAllText(routerYml, RouterConfig(t, keys.RouterKeyFile, keys.Proxy));
        File.WriteAllText(proxyYml, ProxyConfig(t, keys.ProxyKeyFile, keys.Router));
        _proxy = t.Ns.Start(t.Proxy, bin, "proxy", "--config", proxyYml);
        _router = t.Ns.Start(t.Router, bin, "router", "--config", routerYml);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_proxy.HasExited || _router.HasExited)
            {
                break;
            }
            var (code, _, _) = Shell.Capture("ip", ["netns", "exec", t.Client, "ping", "-c", "1", "-W", "1", BenchTopology.ServerAddress], TimeSpan.FromSeconds(5));
            if (code == 0)
            {
                return new TransferPlan(t.Server, BenchTopology.ServerAddress, t.Client, [],
                    [(t.Client, BenchTopology.ServerAddress)], Enumerable.Range(0, t.Links).ToList());
            }
        }
        string why = $"wanbond tunnel did not come up within 20 s. router: {_router.Stderr.Trim()} proxy: {_proxy.Stderr.Trim()}";
        Stop();
        throw new CommandException(why);
    }

    public void Stop()
    {
        _router?.Dispose();
        _proxy?.Dispose();
        _router = null;
        _proxy = null;
    }
}
