using CsCheck;
using WanBond.Core.Paths;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Paths;

public class ReceivedRangesTests
{
    [Fact]
    public void Records_packet_numbers_and_tells_duplicates()
    {
        var r = new ReceivedRanges();
        Assert.True(r.IsEmpty);
        Assert.True(r.Add(3));
        Assert.True(r.Add(1));
        Assert.False(r.Add(3));
        Assert.True(r.Add(2));
        Assert.Equal(3UL, r.Largest);
        var ranges = new AckRange[4];
        Assert.Equal(1, r.CopyTo(ranges));
        Assert.Equal(new AckRange(1, 3), ranges[0]);
    }

    [Fact]
    public void AllReceived_answers_whether_a_span_has_no_gap()
    {
        var r = new ReceivedRanges();
        foreach (var pn in new ulong[] { 0, 1, 2, 4, 5, 6, 7, 9 })
        {
            r.Add(pn);
        }
        Assert.True(r.AllReceived(4, 7));
        Assert.True(r.AllReceived(0, 2));
        Assert.False(r.AllReceived(2, 4)); // 3 is missing
        Assert.False(r.AllReceived(7, 9)); // 8 is missing
        Assert.True(r.AllReceived(9, 9));
        Assert.False(r.AllReceived(10, 10)); // not received (yet)
        Assert.True(r.AllReceived(5, 4)); // empty span
        r.Clear();
        Assert.False(r.AllReceived(4, 7)); // forgotten: cannot tell
    }

    [Fact]
    public void AllReceived_matches_a_set_model()
    {
        Gen.Select(Gen.ULong[0, 80].Array[0, 30], Gen.ULong[0, 90], Gen.ULong[0, 90]).Sample((pns, a, b) =>
        {
            var r = new ReceivedRanges();
            var seen = new HashSet<ulong>();
            foreach (var pn in pns)
            {
                r.Add(pn);
                seen.Add(pn);
            }
            var (from, to) = (Math.Min(a, b), Math.Max(a, b));
            bool model = true;
            for (var pn = from; pn <= to; pn++)
            {
                model &= seen.Contains(pn);
            }
            // With at most 30 packets there are at most 30 ranges, fewer than are kept, so the answer is exact.
            Assert.Equal(model, r.AllReceived(from, to));
        }, iter: 500);
    }
}
