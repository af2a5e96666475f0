namespace WanBond.Linux.Tests;

/// <summary>The built CLI's behaviour on bad input: one line naming file and field, exit 2, nothing touched.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class CliTests
{
    private static (int Code, string Output, string Error) Wanbond(params string[] args) =>
        NamespaceTestbed.TryRun("dotnet", [NamespaceTestbed.CliDll, .. args]);

    [CliFact]
    public void Invalid_router_config_exits_2_naming_file_line_and_field()
    {
        var file = Path.Combine(Path.GetTempPath(), $"wb-bad-{Environment.ProcessId}.yml");
        File.WriteAllText(file, $"proxy: vps\nlinks: [usb0]\nmtu: lots\nproxy_public_key: {ConfigTests.Key}\n");
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
            // Proxy first: it makes its key and prints its public key for the router.
            var proxy = Path.Combine(dir.FullName, "proxy.yml");
            var p = Wanbond("init", "proxy", "--port", "7800", "--output", proxy);
            Assert.Equal(0, p.Code);
            Assert.Equal(7800, Config.ProxyConfig.Load(proxy).Port);
            var proxyConfig = Config.ProxyConfig.Load(proxy);
            Assert.Equal(Path.Combine(dir.FullName, "proxy.key"), proxyConfig.PrivateKeyFile);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(proxyConfig.PrivateKeyFile));
            string proxyPublic;
            using (var proxyKey = proxyConfig.ReadPrivateKey())
            {
                proxyPublic = proxyKey.PublicKey.ToBase64();
            }
            Assert.Contains($"--proxy-key {proxyPublic}", p.Output, StringComparison.Ordinal);

            var router = Path.Combine(dir.FullName, "router.yml");
            var r = Wanbond("init", "router", "--proxy", "vps.example.com:7701", "--proxy-key", proxyPublic, "--link", "usb0", "--link", "usb1", "--lan", "br-lan", "--output", router);
            Assert.Equal(0, r.Code);
            Assert.Contains("next steps", r.Output, StringComparison.Ordinal);
            var config = Config.RouterConfig.Load(router);
            Assert.Equal(["usb0", "usb1"], config.Links.Select(l => l.Interface));
            Assert.Equal(7701, config.ProxyPort);
            Assert.Equal(["br-lan"], config.Lan);
            Assert.Equal(proxyPublic, config.ProxyPublicKey.ToBase64());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config.PrivateKeyFile));
            string routerPublic;
            using (var routerKey = config.ReadPrivateKey())
            {
                routerPublic = routerKey.PublicKey.ToBase64();
            }
            Assert.Contains($"wanbond init peer --public-key {routerPublic} --allowed-ips 10.77.0.2/32", r.Output, StringComparison.Ordinal);

            // The printed command lets the router in on the proxy's side.
            var peer = Wanbond("init", "peer", "--public-key", routerPublic, "--allowed-ips", "10.77.0.2/32", "--allowed-ips", "fd77::2/128", "--name", "home", "--config", proxy);
            Assert.Equal(0, peer.Code);
            var withPeer = Config.ProxyConfig.Load(proxy);
            Assert.Equal("home", Assert.Single(withPeer.Peers).Name);
            Assert.Equal(routerPublic, withPeer.Peers[0].PublicKey.ToBase64());
            Assert.Equal(["10.77.0.2/32", "fd77::2/128"], withPeer.Peers[0].AllowedIps.Select(a => a.ToString()));
            var twice = Wanbond("init", "peer", "--public-key", routerPublic, "--config", proxy);
            Assert.Equal(2, twice.Code);
            Assert.Contains("already listed", twice.Error, StringComparison.Ordinal);

            var again = Wanbond("init", "router", "--proxy", "vps", "--proxy-key", proxyPublic, "--link", "usb0", "--output", router);
            Assert.Equal(2, again.Code);
            Assert.Contains("exists; use --force", again.Error, StringComparison.Ordinal);
            // --force rewrites the config but keeps the key.
            Assert.Equal(0, Wanbond("init", "router", "--proxy", "vps", "--proxy-key", proxyPublic, "--link", "usb0", "--output", router, "--force").Code);
            using (var kept = Config.RouterConfig.Load(router).ReadPrivateKey())
            {
                Assert.Equal(routerPublic, kept.PublicKey.ToBase64());
            }

            var badKey = Wanbond("init", "router", "--proxy", "vps", "--proxy-key", "nope", "--link", "usb0", "--output", Path.Combine(dir.FullName, "y.yml"));
            Assert.Equal(2, badKey.Code);
            Assert.StartsWith("wanbond init router: --proxy-key: expected the proxy's public key", badKey.Error.Trim(), StringComparison.Ordinal);

            var bad = Wanbond("init", "router", "--proxy", "vps:99999", "--proxy-key", proxyPublic, "--link", "usb0", "--output", Path.Combine(dir.FullName, "x.yml"));
            Assert.Equal(2, bad.Code);
            Assert.Equal("wanbond init router: --proxy: expected HOST or HOST:PORT (IPv6 as [addr]:port), got 'vps:99999'", bad.Error.Trim());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [CliFact]
    public void Genkey_and_pubkey_round_trip_and_key_files_are_private()
    {
        var dir = Directory.CreateTempSubdirectory("wb-keys");
        try
        {
            var gen = Wanbond("genkey");
            Assert.Equal(0, gen.Code);
            var privateKey = gen.Output.Trim();
            Assert.Equal(44, privateKey.Length);
            var pub = NamespaceTestbed.TryRunWithInput(privateKey + "\n", "dotnet", NamespaceTestbed.CliDll, "pubkey");
            Assert.Equal(0, pub.Code);
            using (var k = Core.Security.StaticKeyPair.FromBase64(privateKey))
            {
                Assert.Equal(k.PublicKey.ToBase64(), pub.Output.Trim());
            }
            var badPub = NamespaceTestbed.TryRunWithInput("not a key\n", "dotnet", NamespaceTestbed.CliDll, "pubkey");
            Assert.Equal(2, badPub.Code);
            Assert.StartsWith("wanbond pubkey: standard input:", badPub.Error.Trim(), StringComparison.Ordinal);

            var file = Path.Combine(dir.FullName, "k.key");
            var written = Wanbond("genkey", "--output", file);
            Assert.Equal(0, written.Code);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(1, Wanbond("genkey", "--output", file).Code); // never replaces a key

            // A daemon refuses a key others can read: exit 2, naming the config, the field and the key file.
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            var yml = Path.Combine(dir.FullName, "proxy.yml");
            File.WriteAllText(yml, $"private_key_file: {file}\n");
            var refused = Wanbond("proxy", "--config", yml);
            Assert.Equal(2, refused.Code);
            Assert.StartsWith($"wanbond proxy: {yml}:1: private_key_file: Private key file '{file}' has mode 0604", refused.Error.Trim(), StringComparison.Ordinal);
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
