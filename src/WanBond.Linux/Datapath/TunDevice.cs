using WanBond.Linux.Native;

namespace WanBond.Linux.Datapath;

/// <summary>
/// A TUN device carrying bare IPv4 and IPv6 packets (IFF_NO_PI). Not persistent: the kernel removes
/// it when the descriptor closes, so a crashed daemon never leaves one behind.
/// </summary>
public sealed class TunDevice : IDisposable
{
    private TunDevice(FileDescriptor fd, string name)
    {
        Descriptor = fd;
        Name = name;
    }

    public FileDescriptor Descriptor { get; }

    public string Name { get; }

    public long WriteErrors { get; private set; }

    public static TunDevice Open(string name)
    {
        var fd = TunSyscalls.Open(name, out var actual);
        FileSyscalls.SetNonBlocking(fd);
        return new TunDevice(fd, actual);
    }

    /// <summary>Hands one packet to the kernel's IP stack. A failure (no route, bad packet) costs a counter, never the datapath.</summary>
    public void Write(ReadOnlySpan<byte> packet)
    {
        if (FileSyscalls.Write(Descriptor, packet) < 0)
        {
            WriteErrors++;
        }
    }

    public void Dispose() => Descriptor.Dispose();
}
