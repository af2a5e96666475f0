using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using WanBond.Sim;
using WanBond.Testbed.Native;

namespace WanBond.Testbed.Emulation;

/// <summary>
/// <c>wanbond-testbed emulate</c>: one emulated link between interfaces a (router side) and
/// b (proxy side) of the current network namespace. up = a→b, down = b→a.
/// </summary>
internal static class EmulateCommand
{
    public const string Usage = """
        wanbond-testbed emulate --a IFACE --b IFACE --up TRACE --down TRACE --delay MS
                                [--queue-ms MS | --queue-bytes N] [--loss P] [--seed N]
                                [--stats FILE] [--stats-interval MS] [--duration S] [--spin-us US]
          Forwards every frame between interfaces a and b (run it inside a namespace holding both,
          with no addresses on them). up = a->b, down = b->a. TRACE: a Mahimahi file, a bundled
          trace name, or const:MBIT. --delay: one-way propagation delay per direction, ms.
          --queue-ms (default 200, converted at the trace's mean rate) or --queue-bytes: drop-tail
          limit per direction. --loss: random loss probability per packet. --stats: per-interval CSV
          (default interval 100 ms). --duration: stop after S seconds (default: until SIGINT/SIGTERM).
          --spin-us: busy-wait this long before each event instead of sleeping (default 0).
          --no-realtime: keep the forwarding threads at normal priority (default: SCHED_FIFO 50).
          On exit prints a JSON summary (counters and scheduling lateness) on stdout.
        """;

    private static readonly string[] Valued =
        ["--a", "--b", "--up", "--down", "--delay", "--queue-ms", "--queue-bytes", "--loss", "--seed", "--stats", "--stats-interval", "--duration", "--spin-us", "--slots"];

    public static int Run(IReadOnlyList<string> args)
    {
        var o = new Options(args, Valued, ["--help", "--no-realtime"]);
        if (o.Flag("--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        string a = o.Required("--a");
        string b = o.Required("--b");
        LinkCapacity up, down;
        try
        {
            up = TraceSpec.Load(o.Required("--up"));
            down = TraceSpec.Load(o.Required("--down"));
        }
        catch (SimUsageException e)
        {
            throw new UsageException(e.Message, e);
        }
        double delayMs = o.Double("--delay", double.NaN, 0, 10_000);
        if (double.IsNaN(delayMs))
        {
            throw new UsageException("--delay is required (one-way, ms)");
        }
        if (o.String("--queue-ms") is not null && o.String("--queue-bytes") is not null)
        {
            throw new UsageException("give --queue-ms or --queue-bytes, not both");
        }
        long queueBytes = o.Long("--queue-bytes", 0, 3000, 1L << 32);
        double queueMs = o.Double("--queue-ms", 200, 0, 100_000);
        double loss = o.Double("--loss", 0, 0, 1);
        ulong seed = (ulong)o.Long("--seed", 1, 0, long.MaxValue);
        string? statsPath = o.String("--stats");
        long intervalMs = o.Long("--stats-interval", 100, 10, 60_000);
        double duration = o.Double("--duration", 0, 0, 86_400);
        long spinUs = o.Long("--spin-us", 0, 0, 10_000);
        int slots = (int)o.Long("--slots", 16384, 64, 1 << 20);

        long LimitFor(LinkCapacity t) => queueBytes > 0 ? queueBytes : LinkModel.QueueBytesForMs(t, queueMs);
        long delayUs = (long)Math.Round(delayMs * 1000);
        var upModel = new LinkModel(up, delayUs, LimitFor(up), loss, Rng.For(seed, 0), slots);
        var downModel = new LinkModel(down, delayUs, LimitFor(down), loss, Rng.For(seed, 1), slots);

        using var sa = PacketSocket.Open(a);
        using var sb = PacketSocket.Open(b);

        using var stop = new CancellationTokenSource();
        using var sigInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        if (duration > 0)
        {
            stop.CancelAfter(TimeSpan.FromSeconds(duration));
        }

        long t0 = Timing.NowUs();
        long unixT0Ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var pumps = new[]
        {
            new DirectionPump("up", sa, sb, upModel, t0, spinUs, slots, !o.Flag("--no-realtime")),
            new DirectionPump("down", sb, sa, downModel, t0, spinUs, slots, !o.Flag("--no-realtime")),
        };
        foreach (var p in pumps)
        {
            p.Start();
        }
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"emulate: {a} -> {b} up {up.Name} ({up.MeanBitsPerSecond / 1e6:F2} Mbit/s mean, queue {upModel.QueueLimitBytes} B), " +
            $"{b} -> {a} down {down.Name} ({down.MeanBitsPerSecond / 1e6:F2} Mbit/s mean, queue {downModel.QueueLimitBytes} B), delay {delayMs} ms, loss {loss}"));

        using var stats = statsPath is null ? null : new StreamWriter(statsPath, append: false, Encoding.ASCII) { AutoFlush = true };
        stats?.WriteLine("t_unix_ms,dir,capacity_bytes,carried_bytes,delivered_bytes,queued_bytes,queue_drops,loss_drops");
        var last = new long[2, 4];
        long bin = 0;
        while (!stop.IsCancellationRequested && pumps.All(p => p.Failure is null))
        {
            long binEndUs = (bin + 1) * intervalMs * 1000;
            long sleepMs = Math.Max(0, (binEndUs - (Timing.NowUs() - t0)) / 1000);
            stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(sleepMs));
            if (stop.IsCancellationRequested)
            {
                break;
            }
            for (int d = 0; d < 2; d++)
            {
                var m = pumps[d].Model;
                long carried = Volatile.Read(ref m.CarriedBytes);
                long delivered = Volatile.Read(ref m.DeliveredBytes);
                long qd = Volatile.Read(ref m.QueueDrops);
                long ld = Volatile.Read(ref m.LossDrops);
                long capacity = (long)Math.Round(m.Capacity.BytesBetween(binEndUs - (intervalMs * 1000), binEndUs));
                stats?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{unixT0Ms + (binEndUs / 1000)},{pumps[d].Name},{capacity},{carried - last[d, 0]},{delivered - last[d, 1]},{Volatile.Read(ref m.QueuedBytes)},{qd - last[d, 2]},{ld - last[d, 3]}"));
                last[d, 0] = carried;
                last[d, 1] = delivered;
                last[d, 2] = qd;
                last[d, 3] = ld;
            }
            bin++;
        }
        foreach (var p in pumps)
        {
            p.Stop();
        }
        double elapsedS = (Timing.NowUs() - t0) / 1e6;
        Console.Out.WriteLine(Summary(a, b, delayMs, elapsedS, pumps));
        Console.Out.Flush();
        foreach (var p in pumps)
        {
            if (p.Failure is not null)
            {
                Console.Error.WriteLine($"emulate: {p.Name} direction failed: {p.Failure.Message}");
                return 1;
            }
        }
        return 0;
    }

    private static string Summary(string a, string b, double delayMs, double elapsedS, DirectionPump[] pumps)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("a", a);
            w.WriteString("b", b);
            w.WriteNumber("delay_ms", delayMs);
            w.WriteNumber("elapsed_s", Math.Round(elapsedS, 3));
            foreach (var p in pumps)
            {
                var m = p.Model;
                w.WriteStartObject(p.Name);
                w.WriteString("trace", m.Capacity.Name);
                w.WriteNumber("trace_mean_mbps", Math.Round(m.Capacity.MeanBitsPerSecond / 1e6, 3));
                w.WriteNumber("queue_limit_bytes", m.QueueLimitBytes);
                w.WriteNumber("offered_packets", m.OfferedPackets);
                w.WriteNumber("carried_packets", m.CarriedPackets);
                w.WriteNumber("carried_bytes", m.CarriedBytes);
                w.WriteNumber("delivered_packets", m.DeliveredPackets);
                w.WriteNumber("delivered_bytes", m.DeliveredBytes);
                w.WriteNumber("queue_drops", m.QueueDrops);
                w.WriteNumber("loss_drops", m.LossDrops);
                w.WriteNumber("no_buffer_drops", p.NoBuffer);
                w.WriteNumber("oversize_drops", p.Oversize);
                w.WriteNumber("receive_errors", p.ReceiveErrors);
                w.WriteNumber("send_errors", p.SendErrors);
                w.WriteBoolean("realtime", p.Realtime);
                w.WriteStartObject("lateness_us");
                w.WriteNumber("events", p.Lateness.Count);
                w.WriteNumber("p50", p.Lateness.PercentileUs(50));
                w.WriteNumber("p99", p.Lateness.PercentileUs(99));
                w.WriteNumber("p999", p.Lateness.PercentileUs(99.9));
                w.WriteNumber("max", p.Lateness.MaxUs);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
