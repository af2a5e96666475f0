using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace WanBond.Linux.Native;

/// <summary>
/// A sockaddr_in or sockaddr_in6 held by value, so the receive path can record a peer's address
/// without allocating. Converts to and from <see cref="IPEndPoint"/> off the hot path.
/// </summary>
public unsafe struct InetSocketAddress : IEquatable<InetSocketAddress>
{
    public const int MaxLength = 28;
    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    private fixed byte _bytes[MaxLength];

    /// <summary>sizeof the sockaddr inside: 16 (IPv4), 28 (IPv6), 0 when unset.</summary>
    public int Length { get; internal set; }

    public readonly bool IsSet => Length > 0;

    public readonly bool IsIPv6 => Length == MaxLength;

    internal byte* Pointer
    {
        get
        {
            fixed (byte* p = _bytes)
            {
                return p; // the struct lives on a stack frame or inside a pinned/array element the caller fixes
            }
        }
    }

    public static InetSocketAddress From(IPEndPoint endPoint)
    {
        var a = default(InetSocketAddress);
        Span<byte> s = stackalloc byte[MaxLength];
        s.Clear();
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s, AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(s[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(s[4..8], out _);
            a.Length = 16;
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s, AfInet6);
            BinaryPrimitives.WriteUInt16BigEndian(s[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(s[8..24], out _);
            BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)endPoint.Address.ScopeId);
            a.Length = MaxLength;
        }
        s.CopyTo(new Span<byte>(a._bytes, MaxLength));
        return a;
    }

    public readonly IPEndPoint ToEndPoint()
    {
        fixed (byte* p = _bytes)
        {
            var s = new ReadOnlySpan<byte>(p, MaxLength);
            var port = BinaryPrimitives.ReadUInt16BigEndian(s[2..]);
            if (Length == 16)
            {
                return new IPEndPoint(new IPAddress(s[4..8]), port);
            }
            var address = new IPAddress(s[8..24], BinaryPrimitives.ReadUInt32LittleEndian(s[24..]));
            return new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
        }
    }

    /// <summary>The same address as an IPv4-mapped IPv6 sockaddr, for a dual-stack socket.</summary>
    public readonly InetSocketAddress ToIPv6()
    {
        if (Length != 16)
        {
            return this;
        }
        var ep = ToEndPoint();
        return From(new IPEndPoint(ep.Address.MapToIPv6(), ep.Port));
    }

    public readonly bool Equals(InetSocketAddress other)
    {
        if (Length != other.Length)
        {
            return false;
        }
        fixed (byte* a = _bytes)
        {
            return new ReadOnlySpan<byte>(a, Length).SequenceEqual(new ReadOnlySpan<byte>(other._bytes, Length));
        }
    }

    public override readonly bool Equals(object? obj) => obj is InetSocketAddress other && Equals(other);

    public override readonly int GetHashCode()
    {
        fixed (byte* a = _bytes)
        {
            var h = default(HashCode);
            h.AddBytes(new ReadOnlySpan<byte>(a, Length));
            return h.ToHashCode();
        }
    }

    public override readonly string ToString() => IsSet ? ToEndPoint().ToString() : "-";

    public static bool operator ==(InetSocketAddress left, InetSocketAddress right) => left.Equals(right);

    public static bool operator !=(InetSocketAddress left, InetSocketAddress right) => !left.Equals(right);
}
