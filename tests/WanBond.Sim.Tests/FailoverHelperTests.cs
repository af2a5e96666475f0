namespace WanBond.Sim.Tests;

public class FailoverHelperTests
{
    [Fact]
    public void Cut_link_carries_nothing_inside_the_window_and_resumes_after()
    {
        var s = new Scenario
        {
            Links = [new LinkSpec(null, null, 10, 20, 200, 0), new LinkSpec(null, null, 10, 20, 200, 0)],
            Workload = new WorkloadSpec(WorkloadKind.Cbr, CbrMbps: 4),
            DurationS = 6,
        };
        var t = FailoverScenario.RunWithCut(s, link: 1, startS: 2, endS: 4, intervalMs: 250);
        Assert.Equal(24, t.TimeS.Length);
        for (int i = 0; i < t.TimeS.Length; i++)
        {
            if (t.TimeS[i] > 2.25 && t.TimeS[i] <= 4)
            {
                Assert.Equal(0, t.PathMbps[1][i]);
            }
        }
        Assert.True(t.PathMbps[0].Sum() > 0);
        Assert.False(double.IsNaN(FailoverScenario.MeanGoodput(t, 4.5, 6)));
    }
}

public class OpenEndedCutTests
{
    [Fact]
    public void A_cut_without_an_end_stops_a_constant_rate_link_for_the_rest_of_the_run()
    {
        var s = new Scenario
        {
            Links = [new LinkSpec(null, null, 10, 20, 200, 0), new LinkSpec(null, null, 10, 20, 200, 0)],
            Workload = new WorkloadSpec(WorkloadKind.Cbr, CbrMbps: 4),
            DurationS = 6,
        };
        var t = FailoverScenario.RunWithCut(s, link: 1, startS: 2, endS: double.PositiveInfinity, intervalMs: 500);
        for (int i = 0; i < t.TimeS.Length; i++)
        {
            if (t.TimeS[i] > 2.5)
            {
                Assert.Equal(0, t.PathMbps[1][i]);
            }
        }
    }
}
