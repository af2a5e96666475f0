using System.Buffers.Binary;

namespace WanBond.Core.Queueing;

public sealed partial class FqCodelQueue
{
    private const uint FnvOffset = 2166136261;
    private const uint FnvPrime = 16777619;

    /// <summary>
    /// Hash of an IP packet's flow: addresses, protocol and, for TCP/UDP/UDP-Lite/SCTP, ports.
    /// Fragments hash without ports so every fragment of a datagram lands in the same flow (in order).
    /// IPv6 hop-by-hop, routing, destination-options and fragment headers are skipped; anything
    /// else (or a truncated chain) is used as the protocol. Garbage returns 0; a valid packet never does.
    /// Deterministic on purpose: the simulator must be reproducible.
    /// </summary>
    public static int FlowHash(ReadOnlySpan<byte> ipPacket)
    {
        if (ipPacket.IsEmpty)
        {
            return 0;
        }
        int version = ipPacket[0] >> 4;
        uint h = FnvOffset;
        int protocol;
        int l4Offset;
        if (version == 4)
        {
            if (ipPacket.Length < 20)
            {
                return 0;
            }
            int ihl = (ipPacket[0] & 0x0F) * 4;
            if (ihl < 20 || ihl > ipPacket.Length)
            {
                return 0;
            }
            h = Mix(h, 4);
            h = Mix(h, ipPacket.Slice(12, 8));
            protocol = ipPacket[9];
            bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(ipPacket.Slice(6, 2)) & 0x3FFF) != 0; // MF or offset
            l4Offset = fragment ? -1 : ihl;
        }
        else if (version == 6)
        {
            if (ipPacket.Length < 40)
            {
                return 0;
            }
            h = Mix(h, 6);
            h = Mix(h, ipPacket.Slice(8, 32));
            protocol = ipPacket[6];
            int offset = 40;
            bool fragment = false;
            bool parsed = true;
            // A bounded walk: long or odd chains are rare, and then the next-header value is a fine protocol.
            for (int i = 0; i < 8 && parsed; i++)
            {
                if (protocol is 0 or 43 or 60)
                {
                    if (offset + 8 > ipPacket.Length)
                    {
                        parsed = false;
                        break;
                    }
                    int length = (ipPacket[offset + 1] + 1) * 8;
                    protocol = ipPacket[offset];
                    offset += length;
                }
                else if (protocol == 44)
                {
                    if (offset + 8 > ipPacket.Length)
                    {
                        parsed = false;
                        break;
                    }
                    fragment |= (BinaryPrimitives.ReadUInt16BigEndian(ipPacket.Slice(offset + 2, 2)) & 0xFFF9) != 0;
                    protocol = ipPacket[offset];
                    offset += 8;
                }
                else
                {
                    break;
                }
            }
            l4Offset = parsed && !fragment ? offset : -1;
        }
        else
        {
            return 0;
        }
        h = Mix(h, (byte)protocol);
        if (l4Offset >= 0 && protocol is 6 or 17 or 132 or 136 && l4Offset + 4 <= ipPacket.Length)
        {
            h = Mix(h, ipPacket.Slice(l4Offset, 4));
        }
        // FNV alone spreads poorly into low bits, which pick the slot; finish with murmur3's fmix32.
        h ^= h >> 16;
        h *= 0x85EBCA6B;
        h ^= h >> 13;
        h *= 0xC2B2AE35;
        h ^= h >> 16;
        return h == 0 ? 1 : (int)h;
    }

    private static uint Mix(uint h, byte b) => (h ^ b) * FnvPrime;

    private static uint Mix(uint h, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            h = (h ^ b) * FnvPrime;
        }
        return h;
    }
}
