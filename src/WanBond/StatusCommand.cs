using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using WanBond.Linux.Control;

namespace WanBond.Cli;

/// <summary>`wanbond status`: asks the local daemon(s) over their control socket and shows each link.</summary>
internal static class StatusCommand
{
    private static readonly string[] DefaultSockets = ["/run/wanbond/router.sock", "/run/wanbond/proxy.sock"];

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the daemon's report as JSON (an array when several daemons answer)." };
        var watch = new Option<bool>("--watch") { Description = "Refresh every second until interrupted." };
        var socket = new Option<string>("--socket")
        {
            HelpName = "PATH",
            Description = "The daemon's control socket (default: /run/wanbond/router.sock and /run/wanbond/proxy.sock, whichever exist).",
        };
        var command = new Command("status", "Show the running router's or proxy's links: state, address, RTT, rate, loss, share of traffic, bytes.") { json, watch, socket };
        command.SetAction(async (parse, cancel) =>
        {
            var paths = parse.GetValue(socket) is { } one ? [one] : DefaultSockets.Where(File.Exists).ToArray();
            if (paths.Length == 0)
            {
                Console.Error.WriteLine("wanbond status: no wanbond daemon is running here (no control socket in /run/wanbond)");
                return 1;
            }
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            while (true)
            {
                var reports = new List<StatusReport>();
                foreach (var path in paths)
                {
                    try
                    {
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                        reports.Add(await ControlClient.QueryAsync(path, timeout.Token));
                    }
                    catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or JsonException or InvalidDataException)
                    {
                        var why = e is SocketException { SocketErrorCode: SocketError.AccessDenied } || e is UnauthorizedAccessException ? "permission denied (run as root)"
                            : e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.AddressNotAvailable } ? "no daemon answers (stale socket?)"
                            : e.Message;
                        Console.Error.WriteLine($"wanbond status: {path}: {why}");
                        return 1;
                    }
                }
                var text = parse.GetValue(json)
                    ? (reports.Count == 1 ? JsonSerializer.Serialize(reports[0], StatusJsonContext.Default.StatusReport) : "[" + string.Join(",\n", reports.Select(r => JsonSerializer.Serialize(r, StatusJsonContext.Default.StatusReport))) + "]") + "\n"
                    : string.Concat(reports.Select(Format));
                if (parse.GetValue(watch))
                {
                    Console.Out.Write("\x1b[H\x1b[2J");
                }
                Console.Out.Write(text);
                if (!parse.GetValue(watch))
                {
                    return 0;
                }
                try
                {
                    await Task.Delay(1000, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return 0;
                }
            }
        });
        return command;
    }

    internal static string Format(StatusReport r)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"{r.Role}: up {Duration(r.UptimeSeconds)}, tunnel {r.Tunnel}");
        if (r.Unencrypted)
        {
            sb.Append(", UNENCRYPTED");
        }
        sb.Append('\n');
        var sec = r.Security;
        var d = sec.Dropped;
        sb.Append(inv, $"  handshakes: {sec.HandshakesCompleted} completed, {sec.HandshakesFailed} failed");
        sb.Append(r.Role == "proxy"
            ? string.Create(inv, $", {sec.UnknownPeer} from unknown keys; cookies sent {sec.CookiesSent}, rate-limited {sec.RateLimited}\n")
            : string.Create(inv, $", {sec.HandshakesGivenUp} sessions given up\n"));
        sb.Append(inv, $"  dropped: {d.AuthFailed} auth failed, {d.Replay} replayed, {d.UnknownSession} unknown session, {d.Malformed} malformed, {d.DisallowedSource} disallowed source\n");
        if (r.Sessions.Count == 0)
        {
            sb.Append("  no session (waiting for a router)\n");
        }
        foreach (var s in r.Sessions)
        {
            sb.Append(inv, $"session {s.LocalId:x8} ↔ {s.PeerId:x8}: ");
            sb.Append(s.Established ? $"established {Duration(s.UptimeSeconds)}" : "connecting");
            sb.Append(inv, $", queue {s.SendQueueBytes / 1024} KiB, hold bound {s.HoldBoundMs:F0} ms\n");
            sb.Append("  LINK        STATE   ADDRESS                 RTT ms QUEUE ms  TX Mbit/s  RX Mbit/s  LOSS %  SHARE %       SENT   RECEIVED\n");
            foreach (var l in s.Links)
            {
                sb.Append(inv, $"  {l.Name,-11} {l.State,-7} {l.Address ?? "-",-22} {l.RttMs,7:F1} {l.QueueDelayMs,8:F1} {l.TxMbps,10:F2} {l.RxMbps,10:F2} {l.LossPercent,7:F1} {l.SharePercent,8:F0} {Bytes(l.BytesSent),10} {Bytes(l.BytesReceived),10}\n");
            }
        }
        return sb.ToString();
    }

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:00}s" : $"{t.Seconds}s";
    }

    private static string Bytes(long b) =>
        b >= 1L << 30 ? string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 30):F2} GiB")
        : b >= 1L << 20 ? string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 20):F1} MiB")
        : b >= 1L << 10 ? string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 10):F0} KiB")
        : string.Create(CultureInfo.InvariantCulture, $"{b} B");
}
