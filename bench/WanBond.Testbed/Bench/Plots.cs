using ScottPlot;

namespace WanBond.Testbed.Bench;

/// <summary>The picture: each link's capacity against what it carried, and RTT under load, over the transfer.</summary>
internal static class Plots
{
    public static void Save(Measurement m, string path)
    {
        var mp = new Multiplot();
        mp.AddPlots(2);
        var rates = mp.GetPlot(0);
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var l in m.Links)
        {
            var color = palette.GetColor(l.Link);
            var cap = rates.Add.ScatterLine(l.TimeS, l.CapacityMbps, color.WithAlpha(0.6));
            cap.LinePattern = LinePattern.Dashed;
            cap.LegendText = $"link{l.Link} capacity";
            var carried = rates.Add.ScatterLine(l.TimeS, l.CarriedMbps, color);
            carried.LineWidth = 2;
            carried.LegendText = $"link{l.Link} carried";
        }
        rates.Title($"{m.System} — {m.Scenario} — {m.Conditions.Label}: goodput {m.GoodputMbps:F1} of {m.CapacityMbps:F1} Mbit/s capacity");
        rates.YLabel("Mbit/s (500 ms bins)");
        rates.XLabel("s");
        rates.Axes.SetLimitsY(0, Math.Max(1, m.Links.SelectMany(l => l.CapacityMbps.Concat(l.CarriedMbps)).DefaultIfEmpty(1).Max() * 1.1));
        rates.ShowLegend(Alignment.UpperRight);

        var rtt = mp.GetPlot(1);
        int k = 0;
        foreach (var g in m.Rtt.GroupBy(r => r.Target))
        {
            var s = rtt.Add.ScatterPoints(g.Select(r => r.TimeS).ToArray(), g.Select(r => r.RttMs).ToArray(), palette.GetColor(k++));
            s.MarkerSize = 3;
            s.LegendText = $"ping {g.Key}";
        }
        rtt.Title("RTT under load (probe every 100 ms)");
        rtt.YLabel("ms");
        rtt.XLabel("s");
        rtt.Axes.SetLimitsY(0, Math.Max(10, m.Rtt.Select(r => r.RttMs).DefaultIfEmpty(10).Max() * 1.1));
        rtt.ShowLegend(Alignment.UpperRight);
        mp.SavePng(path, 1100, 800);
    }
}
