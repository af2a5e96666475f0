using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace WanBond.Linux.Config;

/// <summary>
/// A prefix of inner addresses a router may use (cryptokey routing), in the form the datapath reads
/// addresses: 128 bits, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
/// </summary>
public readonly record struct AllowedPrefix(UInt128 Network, int Length)
{
    public static AllowedPrefix From(IpPrefix prefix)
    {
        var bytes = prefix.Address.GetAddressBytes();
        UInt128 value;
        int length;
        if (prefix.Address.AddressFamily == AddressFamily.InterNetwork)
        {
            value = ((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes);
            length = 96 + prefix.Length;
        }
        else
        {
            value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            length = prefix.Length;
        }
        return new AllowedPrefix(value & Mask(length), length);
    }

    public bool Contains(UInt128 address) => (address & Mask(Length)) == Network;

    private static UInt128 Mask(int length) => length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, Network);
        var a = new IPAddress(b);
        return a.IsIPv4MappedToIPv6 ? $"{a.MapToIPv4()}/{Length - 96}" : $"{a}/{Length}";
    }
}
