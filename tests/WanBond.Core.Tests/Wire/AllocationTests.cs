using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Wire;

public class AllocationTests
{
    [Fact]
    public void Per_packet_paths_allocate_nothing()
    {
        var datagram = new byte[1500];
        var ackPlain = new byte[AckFrame.MaxSize];
        var blocks = new AckBlock[AckFrame.MaxBlocks];
        var ranges = new AckRange[AckFrame.MaxBlocks * (1 + AckFrame.MaxRanges)];
        AckRange[] toAck = [new(90, 100), new(50, 80), new(10, 20)];
        AckBlock[] ackBlocks = [new() { PathId = 1, RangeStart = 0, RangeCount = 3 }];
        var seal = NullSeal.Instance;

        void OnePacket(uint i)
        {
            var header = new ClearHeader(PacketType.Data, 42, 1, i);
            header.Write(datagram);
            var plain = datagram.AsSpan(ClearHeader.Size);
            DataFrame.WriteHeader(plain, i);
            plain[DataFrame.HeaderSize] = 0x45;
            int length = seal.Seal(datagram, ClearHeader.Size, DataFrame.HeaderSize + 1400, header.Nonce);

            Assert.True(ClearHeader.TryParse(datagram.AsSpan(0, length), out var parsed, out _));
            Assert.True(seal.TryOpen(datagram.AsSpan(0, length), ClearHeader.Size, parsed.Nonce, out int plainLength));
            Assert.True(DataFrame.TryParse(plain[..plainLength], out uint gseq, out _, out _));
            _ = SequenceNumbers.ExpandGseq(gseq, i);

            int ackLength = AckFrame.Write(ackPlain, ackBlocks, toAck);
            Assert.True(AckFrame.TryParse(ackPlain.AsSpan(0, ackLength), blocks, ranges, out _, out _, out _));
            Assert.True(ProbeFrame.TryParse(ackPlain.AsSpan(0, ProbeFrame.MinSize), out _, out _, out _));
        }

        OnePacket(0); // JIT and static initialisation are not per-packet costs
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (uint i = 1; i <= 1000; i++)
        {
            OnePacket(i);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
