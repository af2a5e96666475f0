using System.Buffers.Binary;

namespace WanBond.Core.Wire;

/// <summary>48-bit big-endian integers, which BinaryPrimitives does not have.</summary>
internal static class WireInt
{
    public static void WriteUInt48(Span<byte> destination, ulong value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)value);
    }

    public static ulong ReadUInt48(ReadOnlySpan<byte> source) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source[2..]);
}
