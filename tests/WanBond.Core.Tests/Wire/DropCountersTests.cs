using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class DropCountersTests
{
    [Fact]
    public void Counts_per_reason_and_in_total()
    {
        var counters = new DropCounters();

        counters.Increment(DropReason.Truncated);
        counters.Increment(DropReason.Truncated);
        counters.Increment(DropReason.BadRange);

        Assert.Equal(2, counters[DropReason.Truncated]);
        Assert.Equal(1, counters[DropReason.BadRange]);
        Assert.Equal(0, counters[DropReason.BadVersion]);
        Assert.Equal(3, counters.Total);
    }

    [Fact]
    public void A_drop_without_a_reason_is_a_programmer_error()
    {
        var counters = new DropCounters();

        Assert.Throws<ArgumentOutOfRangeException>(() => counters.Increment(DropReason.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => counters.Increment((DropReason)99));
        Assert.Equal(0, counters.Total);
        Assert.Equal(0, counters[(DropReason)99]);
    }
}
