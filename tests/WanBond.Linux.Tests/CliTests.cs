namespace WanBond.Linux.Tests;

/// <summary>The built CLI's behaviour on bad input: one line naming file and field, exit 2, nothing touched.</summary>
public class CliTests
{
    private static (int Code, string Output, string Error) Wanbond(params string[] args) =>
        NamespaceTestbed.TryRun("dotnet", [NamespaceTestbed.CliDll, .. args]);

    [CliFact]
    public void Invalid_router_config_exits_2_naming_file_line_and_field()
    {
        var file = Path.Combine(Path.GetTempPath(), $"wb-bad-{Environment.ProcessId}.yml");
        File.WriteAllText(file, "proxy: vps\nlinks: [usb0]\nmtu: lots\n");
        try
        {
            var (code, output, error) = Wanbond("router", "--config", file);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Equal($"wanbond router: {file}:3: mtu: expected a whole number from 688 to 9000, got 'lots'", error.Trim());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [CliFact]
    public void Missing_proxy_config_exits_2()
    {
        var (code, _, error) = Wanbond("proxy", "--config", "/nonexistent/proxy.yml");
        Assert.Equal(2, code);
        Assert.Equal("wanbond proxy: /nonexistent/proxy.yml: (file): not found", error.Trim());
    }

    [CliFact]
    public void Init_writes_configs_the_daemons_accept()
    {
        var dir = Directory.CreateTempSubdirectory("wb-init");
        try
        {
            var router = Path.Combine(dir.FullName, "router.yml");
            var r = Wanbond("init", "router", "--proxy", "vps.example.com:7701", "--link", "usb0", "--link", "usb1", "--lan", "br-lan", "--output", router);
            Assert.Equal(0, r.Code);
            Assert.Contains("next steps", r.Output, StringComparison.Ordinal);
            var config = Config.RouterConfig.Load(router);
            Assert.Equal(["usb0", "usb1"], config.Links.Select(l => l.Interface));
            Assert.Equal(7701, config.ProxyPort);
            Assert.Equal(["br-lan"], config.Lan);

            var again = Wanbond("init", "router", "--proxy", "vps", "--link", "usb0", "--output", router);
            Assert.Equal(2, again.Code);
            Assert.Contains("exists; use --force", again.Error, StringComparison.Ordinal);

            var proxy = Path.Combine(dir.FullName, "proxy.yml");
            Assert.Equal(0, Wanbond("init", "proxy", "--port", "7800", "--output", proxy).Code);
            Assert.Equal(7800, Config.ProxyConfig.Load(proxy).Port);

            var bad = Wanbond("init", "router", "--proxy", "vps:99999", "--link", "usb0", "--output", Path.Combine(dir.FullName, "x.yml"));
            Assert.Equal(2, bad.Code);
            Assert.Equal("wanbond init router: --proxy: expected HOST or HOST:PORT (IPv6 as [addr]:port), got 'vps:99999'", bad.Error.Trim());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [CliFact]
    public void Status_without_a_daemon_says_so()
    {
        var (code, _, error) = Wanbond("status", "--socket", "/nonexistent/router.sock");
        Assert.Equal(1, code);
        Assert.StartsWith("wanbond status: /nonexistent/router.sock:", error.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}

/// <summary>Skips when the CLI has not been built next to the tests.</summary>
public sealed class CliFactAttribute : FactAttribute
{
    public CliFactAttribute()
    {
        if (!File.Exists(NamespaceTestbed.CliDll))
        {
            Skip = $"the wanbond CLI is not built ({NamespaceTestbed.CliDll})";
        }
    }
}
