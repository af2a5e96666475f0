using System.Runtime.InteropServices;
using System.Text;

namespace WanBond.Linux.Native;

/// <summary>/dev/net/tun and the TUNSETIFF ioctl.</summary>
public static unsafe partial class TunSyscalls
{
    public const int IfNameSize = 16;
    private const uint TUNSETIFF = 0x400454ca;
    private const uint TUNSETOFFLOAD = 0x400454d0;
    private const uint TUN_F_CSUM = 0x01;
    private const uint TUN_F_TSO4 = 0x02;
    private const uint TUN_F_TSO6 = 0x04;
    private const short IFF_TUN = 0x0001;
    private const short IFF_NO_PI = 0x1000;
    private const short IFF_VNET_HDR = 0x4000;

    /// <summary>sizeof(struct virtio_net_hdr): what precedes every packet read or written with IFF_VNET_HDR.</summary>
    public const int VnetHeaderSize = 10;

    [StructLayout(LayoutKind.Sequential)]
    private struct IfReqFlags
    {
        public fixed byte Name[IfNameSize];
        public short Flags;
        public fixed byte Padding[22];
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(FileDescriptor fd, nuint request, void* arg);

    /// <summary>
    /// On a TUN opened with IFF_VNET_HDR: lets the kernel hand us packets with their transport checksum
    /// still to compute, and TCP super-packets (TSO, IPv4 and IPv6) to segment ourselves. False if refused.
    /// </summary>
    public static bool TrySetTsoOffload(FileDescriptor fd)
        => Ioctl(fd, TUNSETOFFLOAD, (void*)(nuint)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) == 0;

    /// <summary>
    /// Opens a TUN device (IFF_TUN | IFF_NO_PI: bare IPv4/IPv6 packets) named <paramref name="name"/>; returns the kernel's name for it.
    /// With <paramref name="vnetHeader"/> (IFF_VNET_HDR) every packet read or written is preceded by a
    /// virtio_net_hdr, which lets a write carry a TCP super-packet the kernel segments (GSO).
    /// </summary>
    public static FileDescriptor Open(string name, out string actualName, bool vnetHeader = false)
    {
        var bytes = Encoding.ASCII.GetBytes(name);
        if (bytes.Length >= IfNameSize)
        {
            throw new ArgumentException($"interface name '{name}' is longer than {IfNameSize - 1} characters", nameof(name));
        }
        var fd = FileSyscalls.Open("/dev/net/tun", FileSyscalls.O_RDWR);
        try
        {
            var req = default(IfReqFlags);
            for (var i = 0; i < bytes.Length; i++)
            {
                req.Name[i] = bytes[i];
            }
            req.Flags = (short)(IFF_TUN | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0));
            if (Ioctl(fd, TUNSETIFF, &req) < 0)
            {
                throw new SyscallException($"ioctl TUNSETIFF {name}", Errno.Last);
            }
            var len = 0;
            while (len < IfNameSize && req.Name[len] != 0)
            {
                len++;
            }
            actualName = Encoding.ASCII.GetString(new ReadOnlySpan<byte>(req.Name, len));
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }
}
