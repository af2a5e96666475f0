namespace WanBond.Core.Wire;

/// <summary>Placeholder until the wire branch lands (it defines the real interface).</summary>
public interface IPacketSeal
{
    int TagLength { get; }
}
