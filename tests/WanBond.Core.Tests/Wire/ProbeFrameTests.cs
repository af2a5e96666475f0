using CsCheck;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class ProbeFrameTests
{
    [Fact]
    public void Round_trips_with_any_padding()
    {
        Gen.Select(WireGen.UInt32, Gen.Byte, Gen.Int[0, 1400]).Sample((watermark, flags, padding) =>
        {
            var plain = new byte[ProbeFrame.MinSize + padding];
            Array.Fill(plain, (byte)0xEE); // padding must be written as zeros, not left over

            int length = ProbeFrame.Write(plain, watermark, flags, padding);

            Assert.Equal(ProbeFrame.MinSize + padding, length);
            Assert.All(plain[ProbeFrame.MinSize..], b => Assert.Equal(0, b));
            Assert.True(ProbeFrame.TryParse(plain, out uint parsedWatermark, out byte parsedFlags, out var reason));
            Assert.Equal(DropReason.None, reason);
            Assert.Equal(watermark, parsedWatermark);
            Assert.Equal(flags, parsedFlags);
        });
    }

    [Fact]
    public void Layout_is_watermark_then_flags()
    {
        var plain = new byte[ProbeFrame.MinSize];
        ProbeFrame.Write(plain, 0x01020304, 0x80);

        Assert.Equal(new byte[] { 1, 2, 3, 4, 0x80 }, plain);
    }

    [Fact]
    public void Every_truncation_is_rejected()
    {
        var plain = new byte[ProbeFrame.MinSize];
        ProbeFrame.Write(plain, 7, 1);

        for (int length = 0; length < ProbeFrame.MinSize; length++)
        {
            Assert.False(ProbeFrame.TryParse(plain.AsSpan(0, length), out _, out _, out var reason));
            Assert.Equal(DropReason.Truncated, reason);
        }
    }
}
