using System.Net.Sockets;
using System.Text;
using WanBond.Core.Security;
using Xunit.Abstractions;

namespace WanBond.Linux.Tests;

/// <summary>Skips unless systemd-analyze is installed (package systemd); the reason says so.</summary>
public sealed class SystemdAnalyzeFactAttribute : FactAttribute
{
    public SystemdAnalyzeFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || NamespaceTestbed.TryRun("sh", "-c", "command -v systemd-analyze").Code != 0)
        {
            Skip = "systemd-analyze is not installed (apt-get install systemd): the unit files are only parse-checked";
        }
    }
}

/// <summary>
/// The systemd units in deploy/ and the daemons' side of Type=notify. This sandbox has no systemd as PID 1, so
/// `systemctl start` cannot be tried; what can be checked is: the units as systemd itself reads them
/// (systemd-analyze verify), the keys the deployment relies on, and the sd_notify messages a daemon sends when its
/// parent is systemd (a stand-in parent named systemd and a NOTIFY_SOCKET the test listens on).
/// </summary>
public sealed class SystemdTests
{
    private readonly ITestOutputHelper _out;

    public SystemdTests(ITestOutputHelper output) => _out = output;

    private static string Unit(string role) => Path.Combine(NamespaceTestbed.RepoRoot, "deploy", $"wanbond-{role}.service");

    /// <summary>[section] → key → values (a key may repeat, e.g. Environment=).</summary>
    private static Dictionary<string, Dictionary<string, List<string>>> Parse(string file)
    {
        var result = new Dictionary<string, Dictionary<string, List<string>>>();
        Dictionary<string, List<string>>? section = null;
        foreach (var raw in File.ReadAllLines(file))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = result[line[1..^1]] = [];
                continue;
            }
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            Assert.True(section is not null && eq > 0, $"{file}: not a key=value line inside a section: {raw}");
            var key = line[..eq].Trim();
            if (!section.TryGetValue(key, out var values))
            {
                section[key] = values = [];
            }
            values.Add(line[(eq + 1)..].Trim());
        }
        return result;
    }

    [Theory]
    [InlineData("router")]
    [InlineData("proxy")]
    public void Unit_files_have_the_keys_the_deployment_relies_on(string role)
    {
        var unit = Parse(Unit(role));
        var service = unit["Service"];
        string One(string key) => Assert.Single(service[key]);
        Assert.Equal("notify", One("Type")); // the daemons send READY=1 (Microsoft.Extensions.Hosting.Systemd)
        Assert.Equal($"/usr/local/bin/wanbond {role} --config /etc/wanbond/{role}.yml", One("ExecStart"));
        Assert.Equal("on-failure", One("Restart"));
        Assert.Equal("2", One("RestartPreventExitStatus")); // exit 2 = invalid config: restarting cannot help
        Assert.Equal("SIGTERM", One("KillSignal")); // what the daemons clean up on
        Assert.True(int.Parse(One("TimeoutStopSec"), System.Globalization.CultureInfo.InvariantCulture) >= 15, "the host gives the daemon 15 s to stop; systemd must wait at least that");
        Assert.Equal("wanbond", One("RuntimeDirectory")); // /run/wanbond: default control socket and saved sysctls
        Assert.Equal("0700", One("RuntimeDirectoryMode"));
        Assert.Equal("network-online.target", Assert.Single(unit["Unit"]["After"]));
        Assert.Equal("multi-user.target", Assert.Single(unit["Install"]["WantedBy"]));

        // ExecStart names what deploy/install.sh installs.
        var install = File.ReadAllText(Path.Combine(NamespaceTestbed.RepoRoot, "deploy", "install.sh"));
        Assert.Contains("ln -sf /usr/local/lib/wanbond/wanbond /usr/local/bin/wanbond", install, StringComparison.Ordinal);
        Assert.Contains($"deploy/wanbond-{role}.service", install, StringComparison.Ordinal);
    }

    [SystemdAnalyzeFact]
    public void Unit_files_pass_systemd_analyze_verify()
    {
        // verify also checks that ExecStart's program exists: point it at a stand-in in a copy of each unit.
        var dir = Directory.CreateTempSubdirectory("wanbond-units-");
        try
        {
            var program = Path.Combine(dir.FullName, "wanbond");
            File.WriteAllText(program, "#!/bin/sh\nexit 0\n");
            NamespaceTestbed.Run("chmod", "700", program);
            var units = new List<string>();
            foreach (var role in new[] { "router", "proxy" })
            {
                var copy = Path.Combine(dir.FullName, $"wanbond-{role}.service");
                File.WriteAllText(copy, File.ReadAllText(Unit(role)).Replace("/usr/local/bin/wanbond", program, StringComparison.Ordinal));
                units.Add(copy);
            }
            var (code, output, error) = NamespaceTestbed.TryRun("systemd-analyze", ["verify", "--man=no", .. units]);
            _out.WriteLine($"systemd-analyze verify: exit {code}\n{output}{error}");
            Assert.Equal(0, code);
            // verify exits 0 on unknown keys and unparsable values too; it only says so. It must say nothing about our units.
            Assert.DoesNotContain("wanbond-", output + error, StringComparison.Ordinal);

            // And it does say so: a broken copy is caught (the check can fail).
            File.AppendAllText(units[0], "Typo=1\n");
            var broken = NamespaceTestbed.TryRun("systemd-analyze", ["verify", "--man=no", units[0]]);
            Assert.Contains("Unknown key 'Typo'", broken.Output + broken.Error, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Type=notify from the daemon's side: started by a parent named "systemd" with NOTIFY_SOCKET set, the proxy sends
    /// READY=1 once it is up (not before: its UDP port answers by then) and STOPPING=1 on SIGTERM, and logs in
    /// systemd's format (syslog priority prefixes, for journald).
    /// </summary>
    [NetnsFact]
    public void Proxy_tells_systemd_it_is_ready_and_stopping()
    {
        using var bed = new NamespaceTestbed(links: 1);
        var notifyPath = Path.Combine(bed.Directory, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        notify.ReceiveTimeout = 30_000;

        var keyFile = Path.Combine(bed.Directory, "proxy.key");
        using (var k = StaticKeyPair.Generate())
        {
            KeyFile.WritePrivateKey(keyFile, k);
        }
        var yml = Path.Combine(bed.Directory, "proxy.yml");
        File.WriteAllText(yml, $"port: 7700\nprivate_key_file: {keyFile}\ncontrol_socket: {bed.RunDirectory}/proxy.sock\n");
        // A shell under the name systemd, so that the hosting library sees a systemd parent (it checks /proc/PPID/comm).
        var systemd = Path.Combine(bed.Directory, "systemd");
        File.Copy("/bin/sh", systemd);
        var proxy = bed.Start("prx", "proxy.log", systemd, "-c", $"export NOTIFY_SOCKET='{notifyPath}'; dotnet '{NamespaceTestbed.CliDll}' proxy --config '{yml}'; exit $?");

        var buffer = new byte[4096];
        var first = Encoding.ASCII.GetString(buffer, 0, notify.Receive(buffer));
        _out.WriteLine("notify: " + first);
        Assert.Contains("READY=1", first, StringComparison.Ordinal);
        Assert.True(File.Exists($"{bed.RunDirectory}/proxy.sock"), "READY=1 came before the daemon was up");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!bed.Log("proxy.log").Contains("proxy up", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }
        var up = bed.Log("proxy.log").Split('\n').FirstOrDefault(l => l.Contains("proxy up", StringComparison.Ordinal));
        _out.WriteLine("log: " + up);
        Assert.NotNull(up);
        Assert.StartsWith("<6>", up, StringComparison.Ordinal); // syslog priority 6 = info, as journald reads it

        // SIGTERM to the daemon itself (the stand-in parent would just die of it), as systemd's KillMode=control-group does.
        var daemon = File.ReadAllText($"/proc/{proxy.Id}/task/{proxy.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(daemon);
        NamespaceTestbed.Run("kill", "-TERM", daemon[0]);
        var second = Encoding.ASCII.GetString(buffer, 0, notify.Receive(buffer));
        _out.WriteLine("notify: " + second);
        Assert.Contains("STOPPING=1", second, StringComparison.Ordinal);
        Assert.True(proxy.WaitForExit(20_000), "proxy did not stop within 20 s of SIGTERM");
        Assert.Equal(0, proxy.ExitCode);
    }
}
