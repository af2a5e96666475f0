using System.Globalization;
using System.Text.Json;
using WanBond.Testbed.Topology;

namespace WanBond.Testbed.Measure;

/// <summary>iperf3 runs between namespaces, read from its JSON output.</summary>
internal static class Iperf
{
    /// <summary>A one-shot iperf3 server (exits after one test) bound to <paramref name="address"/>.</summary>
    public static BackgroundProcess Server(Namespaces ns, string nsName, string address, int port, IEnumerable<string>? wrapper = null)
    {
        string[] cmd = [.. wrapper ?? [], "iperf3", "-s", "-1", "-J", "-B", address, "-p", port.ToString(CultureInfo.InvariantCulture)];
        var p = ns.Start(nsName, cmd);
        WaitListening(ns, nsName, port);
        return p;
    }

    /// <summary>Runs the client to completion (bounded by the test duration plus a margin); returns its JSON.</summary>
    public static JsonElement Client(Namespaces ns, string nsName, IEnumerable<string> args, double durationS, IEnumerable<string>? wrapper = null)
    {
        string[] cmd = [.. wrapper ?? [], "iperf3", "-J", "--connect-timeout", "5000", .. args];
        var (code, stdout, stderr) = Shell.Capture("ip", ["netns", "exec", nsName, .. cmd], TimeSpan.FromSeconds(durationS + 30));
        JsonElement json;
        try
        {
            using var doc = JsonDocument.Parse(stdout);
            json = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new CommandException($"iperf3 in {nsName} exited {code} without JSON: {stderr.Trim()}");
        }
        if (json.TryGetProperty("error", out var err))
        {
            throw new CommandException($"iperf3 in {nsName}: {err.GetString()}");
        }
        return json;
    }

    /// <summary>The server's JSON after it exits.</summary>
    public static JsonElement ServerResult(BackgroundProcess server, TimeSpan timeout)
    {
        if (!server.WaitForExit(timeout))
        {
            server.Stop();
        }
        using var doc = JsonDocument.Parse(server.Stdout);
        return doc.RootElement.Clone();
    }

    /// <summary>TCP goodput at the receiver, Mbit/s.</summary>
    public static double ReceivedMbps(JsonElement clientJson) =>
        clientJson.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble() / 1e6;

    /// <summary>Both ends must have used the congestion control asked for, or the comparison is meaningless.</summary>
    public static void CheckCongestionControl(JsonElement clientJson, string cc)
    {
        var end = clientJson.GetProperty("end");
        foreach (var side in new[] { "sender_tcp_congestion", "receiver_tcp_congestion" })
        {
            if (end.TryGetProperty(side, out var v) && v.GetString() is { } used && used != cc)
            {
                throw new CommandException($"iperf3 {side} was {used}, not {cc}");
            }
        }
    }

    /// <summary>Per-interval (bytes, seconds) as the JSON's side saw them.</summary>
    public static List<(long Bytes, double Seconds)> Intervals(JsonElement json) =>
        json.GetProperty("intervals").EnumerateArray()
            .Select(i => i.GetProperty("sum"))
            .Select(s => (s.GetProperty("bytes").GetInt64(), s.GetProperty("seconds").GetDouble()))
            .ToList();

    private static void WaitListening(Namespaces ns, string nsName, int port)
    {
        string needle = ":" + port.ToString(CultureInfo.InvariantCulture) + " ";
        for (int i = 0; i < 100; i++)
        {
            if (ns.Exec(nsName, "ss", "-Hltn").Contains(needle, StringComparison.Ordinal))
            {
                return;
            }
            Thread.Sleep(30);
        }
        throw new CommandException($"iperf3 server in {nsName} is not listening on {port}");
    }
}
