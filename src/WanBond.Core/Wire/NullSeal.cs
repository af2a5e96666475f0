namespace WanBond.Core.Wire;

/// <summary>Placeholder until the wire branch lands.</summary>
public sealed class NullSeal : IPacketSeal
{
    public int TagLength => 16;
}
