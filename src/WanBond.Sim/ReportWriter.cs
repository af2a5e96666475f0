using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WanBond.Sim;

/// <summary>Writes a <see cref="SimResult"/> as one JSON object (stable key order) or as a text table.</summary>
public static class ReportWriter
{
    public static string ToJson(SimResult r)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            var s = r.Scenario;
            w.WriteStartObject();
            w.WriteStartObject("scenario");
            w.WriteStartArray("links");
            foreach (var l in s.Links)
            {
                w.WriteStringValue(l.Describe());
            }
            w.WriteEndArray();
            w.WriteString("workload", s.Workload.ToString());
            w.WriteString("direction", s.Direction == DataDirection.Down ? "down" : "up");
            w.WriteString("scheduler", s.NoTunnel ? "none" : s.Scheduler.ToString().ToLowerInvariant());
            w.WriteString("cc", s.NoTunnel ? "none" : s.CongestionControl.ToString().ToLowerInvariant());
            w.WriteBoolean("tunnel", !s.NoTunnel);
            Num(w, "duration_s", s.DurationS, 6);
            w.WriteString("seed", s.Seed.ToString(CultureInfo.InvariantCulture));
            w.WriteNumber("start_jitter_ms", s.StartJitterMs);
            w.WriteBoolean("hystart", s.HyStart);
            w.WriteNumber("backlog_packets", s.BacklogPackets);
            w.WriteStartArray("cuts");
            foreach (var c in s.Cuts)
            {
                w.WriteStringValue(FormattableString.Invariant($"{c.Link}@{c.StartS}-{(double.IsPositiveInfinity(c.EndS) ? "end" : c.EndS)}"));
            }
            w.WriteEndArray();
            w.WriteEndObject();
            Num(w, "capacity_mbps", r.CapacityMbps, 3);
            Num(w, "goodput_mbps", r.GoodputMbps, 3);
            Num(w, "efficiency", r.Efficiency, 4);
            w.WriteStartObject("delay_ms");
            Num(w, "p50", r.DelayP50Ms, 3);
            Num(w, "p95", r.DelayP95Ms, 3);
            Num(w, "p99", r.DelayP99Ms, 3);
            w.WriteEndObject();
            Num(w, "reorder_hold_ms_p95", r.ReorderHoldP95Ms, 3);
            w.WriteNumber("inner_retransmits", r.InnerRetransmits);
            w.WriteNumber("inner_fast_recoveries", r.InnerFastRecoveries);
            w.WriteNumber("inner_timeouts", r.InnerTimeouts);
            w.WriteNumber("delivered_packets", r.DeliveredPackets);
            w.WriteStartObject("drops");
            w.WriteNumber("sender_queue", r.SenderQueueDrops);
            w.WriteNumber("link_queue", r.LinkQueueDrops);
            w.WriteNumber("link_loss", r.LinkLossDrops);
            w.WriteEndObject();
            if (r.Engine is { } e)
            {
                w.WriteStartObject("engine");
                w.WriteNumber("sender_aqm_drops", e.SenderAqmDrops);
                w.WriteNumber("reorder_skipped", e.ReorderSkipped);
                w.WriteNumber("reorder_skipped_late", e.ReorderSkippedLate);
                w.WriteNumber("tunnel_lost", e.TunnelLost);
                w.WriteNumber("repaired", e.Repaired);
                w.WriteNumber("rejected", e.Rejected);
                w.WriteNumber("repairs_withheld", e.RepairsWithheld);
                w.WriteNumber("reverse_aqm_drops", e.ReverseAqmDrops);
                w.WriteNumber("reverse_reorder_skipped", e.ReverseReorderSkipped);
                w.WriteEndObject();
            }
            w.WriteStartArray("paths");
            foreach (var p in r.Paths)
            {
                w.WriteStartObject();
                w.WriteNumber("path", p.Path);
                w.WriteString("link", p.Link);
                Num(w, "capacity_mbps", p.CapacityMbps, 3);
                Num(w, "carried_mbps", p.CarriedMbps, 3);
                Num(w, "utilization", p.Utilization, 4);
                Num(w, "share", p.Share, 4);
                Num(w, "rtt_ms_p50", p.RttP50Ms, 3);
                Num(w, "rtt_ms_p95", p.RttP95Ms, 3);
                w.WriteNumber("queue_drops", p.QueueDrops);
                w.WriteNumber("loss_drops", p.LossDrops);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (r.Timeline is { } t)
            {
                w.WriteStartObject("timeline");
                w.WriteNumber("interval_ms", t.IntervalMs);
                Array(w, "t_s", t.TimeS, 3);
                Array(w, "goodput_mbps", t.GoodputMbps, 3);
                w.WriteStartArray("path_mbps");
                foreach (var series in t.PathMbps)
                {
                    w.WriteStartArray();
                    foreach (var v in series)
                    {
                        w.WriteNumberValue(Math.Round(v, 3));
                    }
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string ToText(SimResult r)
    {
        var s = r.Scenario;
        var sb = new StringBuilder();
        var ic = CultureInfo.InvariantCulture;
        sb.AppendLine(ic, $"wanbond sim: workload {s.Workload}, direction {(s.Direction == DataDirection.Down ? "down" : "up")}, " +
            $"{(s.NoTunnel ? "no tunnel" : "scheduler " + s.Scheduler.ToString().ToLowerInvariant() + ", cc " + s.CongestionControl.ToString().ToLowerInvariant())}, {s.DurationS.ToString(ic)} s, seed {s.Seed}");
        sb.AppendLine();
        sb.AppendLine(ic, $"{"path",4}  {"capacity Mbit/s",15}  {"carried Mbit/s",14}  {"utilization",11}  {"share",6}  {"RTT p50 ms",10}  {"RTT p95 ms",10}  {"queue drops",11}  {"loss drops",10}  link");
        foreach (var p in r.Paths)
        {
            sb.AppendLine(ic, $"{p.Path,4}  {F(p.CapacityMbps, 2),15}  {F(p.CarriedMbps, 2),14}  {F(p.Utilization, 3),11}  {F(p.Share, 3),6}  {F(p.RttP50Ms, 1),10}  {F(p.RttP95Ms, 1),10}  {p.QueueDrops,11}  {p.LossDrops,10}  {p.Link}");
        }
        sb.AppendLine();
        sb.AppendLine(ic, $"capacity            {F(r.CapacityMbps, 2)} Mbit/s");
        sb.AppendLine(ic, $"goodput             {F(r.GoodputMbps, 2)} Mbit/s");
        sb.AppendLine(ic, $"efficiency          {F(r.Efficiency, 3)}");
        sb.AppendLine(ic, $"delay p50/p95/p99   {F(r.DelayP50Ms, 1)} / {F(r.DelayP95Ms, 1)} / {F(r.DelayP99Ms, 1)} ms");
        sb.AppendLine(ic, $"reorder hold p95    {F(r.ReorderHoldP95Ms, 1)} ms");
        sb.AppendLine(ic, $"inner retransmits   {r.InnerRetransmits} ({r.InnerFastRecoveries} fast recoveries, {r.InnerTimeouts} timeouts)");
        sb.AppendLine(ic, $"drops               sender queue {r.SenderQueueDrops}, link queue {r.LinkQueueDrops}, link loss {r.LinkLossDrops}");
        if (r.Engine is { } e)
        {
            sb.AppendLine(ic, $"engine              aqm drops {e.SenderAqmDrops}, reorder skipped {e.ReorderSkipped} ({e.ReorderSkippedLate} late), tunnel lost {e.TunnelLost}, repaired {e.Repaired} ({e.RepairsWithheld} copies withheld), rejected {e.Rejected}; reverse direction: aqm drops {e.ReverseAqmDrops}, reorder skipped {e.ReverseReorderSkipped}");
        }
        if (r.Timeline is { } t)
        {
            sb.AppendLine();
            sb.Append(ic, $"{"t s",8}  {"goodput Mbit/s",14}");
            for (int i = 0; i < t.PathMbps.Length; i++)
            {
                sb.Append(ic, $"  {"path " + i.ToString(ic) + " Mbit/s",14}");
            }
            sb.AppendLine();
            for (int k = 0; k < t.TimeS.Length; k++)
            {
                sb.Append(ic, $"{F(t.TimeS[k], 3),8}  {F(t.GoodputMbps[k], 2),14}");
                foreach (var series in t.PathMbps)
                {
                    sb.Append(ic, $"  {F(series[k], 2),14}");
                }
                sb.AppendLine();
            }
        }
        return sb.ToString();
    }

    private static string F(double v, int decimals) => double.IsNaN(v) ? "-" : v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static void Num(Utf8JsonWriter w, string name, double v, int decimals)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteNumber(name, Math.Round(v, decimals));
        }
    }

    private static void Array(Utf8JsonWriter w, string name, double[] values, int decimals)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteNumberValue(Math.Round(v, decimals));
        }
        w.WriteEndArray();
    }
}
