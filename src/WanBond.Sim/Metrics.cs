namespace WanBond.Sim;

/// <summary>Counters and samples collected during a run.</summary>
internal sealed class Metrics
{
    public long GoodputBytes { get; private set; }

    public long GoodputPackets { get; private set; }

    public SampleList Delay { get; } = new();

    public SampleList ReorderHold { get; } = new();

    public long InnerRetransmits { get; set; }

    public long InnerFastRecoveries { get; set; }

    public long InnerTimeouts { get; set; }

    public long SenderQueueDrops { get; set; }

    /// <summary>New in-order data at the far end, with its submit→release delay.</summary>
    public void AddGoodput(int bytes, long delayUs)
    {
        AddGoodputBytes(bytes);
        AddDelaySample(delayUs);
    }

    public void AddGoodputBytes(int bytes)
    {
        GoodputBytes += bytes;
        GoodputPackets++;
    }

    public void AddDelaySample(long delayUs) => Delay.Add(delayUs);
}
