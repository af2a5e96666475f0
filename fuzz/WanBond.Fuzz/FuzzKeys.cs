using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Fuzz;

/// <summary>
/// Fixed keys, so that the committed seed corpus stays meaningful from run to run: a valid initiation in the
/// corpus is valid for the harness' proxy key every time, and a sealed datagram in it opens under the fixed
/// transport keys. Never use these anywhere but here.
/// </summary>
internal static class FuzzKeys
{
    /// <summary>The proxy's local index of the fixed transport keys: the receiver id of every sealed seed datagram.</summary>
    public const uint ProxyIndex = 0x5EC0_0001;

    /// <summary>The router's local index of the fixed transport keys.</summary>
    public const uint RouterIndex = 0x5EC0_0002;

    public const int Paths = 2;

    private static readonly byte[] RouterToProxy = Filled(0xA1);
    private static readonly byte[] ProxyToRouter = Filled(0xB2);

    public static StaticKeyPair Router { get; } = StaticKeyPair.FromPrivateKey(Filled(0x11));

    public static StaticKeyPair Proxy { get; } = StaticKeyPair.FromPrivateKey(Filled(0x22));

    /// <summary>A router key the proxy does not know.</summary>
    public static StaticKeyPair Stranger { get; } = StaticKeyPair.FromPrivateKey(Filled(0x33));

    /// <summary>The router's side of the fixed transport keys (it seals with router→proxy).</summary>
    public static TransportKeys NewRouterKeys(long nowUs) =>
        new(RouterIndex, ProxyIndex, RouterToProxy, ProxyToRouter, isInitiator: true, Paths, nowUs);

    /// <summary>The proxy's side of the fixed transport keys.</summary>
    public static TransportKeys NewProxyKeys(long nowUs) =>
        new(ProxyIndex, RouterIndex, ProxyToRouter, RouterToProxy, isInitiator: false, Paths, nowUs);

    private static byte[] Filled(byte value)
    {
        var b = new byte[32];
        for (var i = 0; i < b.Length; i++)
        {
            b[i] = (byte)(value + i);
        }
        return b;
    }
}

/// <summary>
/// A seal that checks nothing: it stands for a peer that holds the keys (authenticated) but sends whatever it
/// likes. With it the fuzzer reaches the frame parsers and the engine's handling of every frame, which real
/// keys would hide behind the AEAD tag.
/// </summary>
internal sealed class TrustingSeal : IPacketSeal
{
    public static TrustingSeal Instance { get; } = new();

    public int TagLength => 16;

    public int Seal(Span<byte> datagram, int headerLength, int plainLength, ulong nonce)
    {
        datagram.Slice(headerLength + plainLength, TagLength).Clear();
        return headerLength + plainLength + TagLength;
    }

    public bool TryOpen(Span<byte> datagram, int headerLength, ulong nonce, out int plainLength)
    {
        plainLength = datagram.Length - headerLength - TagLength;
        if (plainLength < 0)
        {
            plainLength = 0;
            return false;
        }
        return true;
    }
}
