using System.Text;
using WanBond.Linux.Config;

namespace WanBond.Linux.Network;

/// <summary>The `inet wanbond` nftables table: masquerade and TCP MSS clamping for the tunnel. Replaced atomically, deleted whole.</summary>
public static class Nftables
{
    public const string TableName = "wanbond";

    /// <summary>
    /// The ruleset. <paramref name="masqueradeOut"/>: traffic leaving through the tunnel takes the tunnel address
    /// (router: LAN clients). <paramref name="masqueradeFromTunnel"/>: traffic from the tunnel leaving any other
    /// interface takes that interface's address (proxy: to the internet).
    /// </summary>
    public static string Ruleset(string tunnel, bool masqueradeOut, bool masqueradeFromTunnel, bool mssClamp, int innerMtu)
    {
        var sb = new StringBuilder();
        // Declaring then deleting makes the load idempotent; nft applies the whole file as one transaction.
        sb.Append("table inet ").Append(TableName).Append('\n');
        sb.Append("delete table inet ").Append(TableName).Append('\n');
        sb.Append("table inet ").Append(TableName).Append(" {\n");
        if (mssClamp)
        {
            var mss4 = innerMtu - 40;
            var mss6 = innerMtu - 60;
            sb.Append("  chain forward {\n    type filter hook forward priority mangle; policy accept;\n");
            foreach (var dir in new[] { "iifname", "oifname" })
            {
                sb.Append($"    {dir} \"{tunnel}\" meta nfproto ipv4 tcp flags syn / syn,rst tcp option maxseg size > {mss4} tcp option maxseg size set {mss4}\n");
                sb.Append($"    {dir} \"{tunnel}\" meta nfproto ipv6 tcp flags syn / syn,rst tcp option maxseg size > {mss6} tcp option maxseg size set {mss6}\n");
            }
            sb.Append("  }\n");
        }
        if (masqueradeOut || masqueradeFromTunnel)
        {
            sb.Append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
            if (masqueradeOut)
            {
                sb.Append($"    oifname \"{tunnel}\" masquerade\n");
            }
            if (masqueradeFromTunnel)
            {
                sb.Append($"    iifname \"{tunnel}\" oifname != \"{tunnel}\" masquerade\n");
            }
            sb.Append("  }\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    public static void Apply(CommandRunner runner, string ruleset) => runner.RunWithInput("nft", ruleset, "-f", "-");

    /// <summary>Deletes the table if present (nothing else of wanbond lives in nftables).</summary>
    public static void Remove(CommandRunner runner)
    {
        var (code, _, _) = runner.TryRun("nft", ["list", "table", "inet", TableName]);
        if (code == 0)
        {
            runner.Run("nft", "delete", "table", "inet", TableName);
        }
    }
}

/// <summary>Addresses and state of the TUN device (the device itself is the daemon's open descriptor).</summary>
public static class TunnelInterface
{
    public static void Configure(CommandRunner runner, string name, int mtu, IpPrefix address, IpPrefix? address6)
    {
        runner.Run("ip", "link", "set", "dev", name, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
        runner.Run("ip", "-4", "addr", "replace", address.ToString(), "dev", name);
        if (address6 is { } a6)
        {
            runner.Run("ip", "-6", "addr", "replace", a6.ToString(), "dev", name, "nodad");
        }
        runner.Run("ip", "link", "set", "dev", name, "up");
    }

    /// <summary>Removes a leftover device of that name only if it is a TUN device (never someone else's interface).</summary>
    public static void RemoveStale(CommandRunner runner, string name)
    {
        if (File.Exists($"/sys/class/net/{name}/tun_flags"))
        {
            runner.TryRun("ip", ["link", "del", "dev", name]);
        }
    }
}
