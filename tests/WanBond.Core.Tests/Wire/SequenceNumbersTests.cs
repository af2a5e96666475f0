using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class SequenceNumbersTests
{
    private const long Window = 1L << 32;
    private const long Half = Window / 2;

    [Fact]
    public void Recovers_any_value_within_half_a_window_of_the_expected_one()
    {
        var expected = Gen.OneOf<long>(
            Gen.Long[0, SequenceNumbers.MaxExpandedGseq - Window],
            Gen.Long[0, 1000],
            Gen.Long[Window - 1000, Window + 1000],
            Gen.Long[(5 * Window) - 1000, (5 * Window) + 1000]);
        var delta = Gen.OneOf<long>(
            Gen.Long[-Half + 1, Half],
            Gen.Long[-Half + 1, -Half + 1000],
            Gen.Long[Half - 1000, Half],
            Gen.Long[-1000, 1000]);

        Gen.Select(expected, delta).Sample((next, d) =>
        {
            long actual = next + d;
            if (actual < 0)
            {
                return; // gseq starts at 0: nothing negative exists to recover
            }

            Assert.Equal(actual, SequenceNumbers.ExpandGseq((uint)actual, next));
        });
    }

    [Theory]
    [InlineData(3u, Window - 5, Window + 3)] // forward across a wrap
    [InlineData(0xFFFF_FFFEu, Window + 2, Window - 2)] // a late packet from before the wrap
    [InlineData(0xFFFF_FFFFu, 0L, 0xFFFF_FFFFL)] // never below zero
    [InlineData(0u, 0L, 0L)]
    [InlineData(0x8000_0000u, 0L, 0x8000_0000L)] // exactly half a window ahead still counts as ahead
    [InlineData(5u, Window + Half + 5, (2 * Window) + 5)] // exactly half a window behind is taken as ahead (QUIC's tie rule)
    public void Handles_the_wrap(uint truncated, long expectedNext, long result)
    {
        Assert.Equal(result, SequenceNumbers.ExpandGseq(truncated, expectedNext));
    }
}
