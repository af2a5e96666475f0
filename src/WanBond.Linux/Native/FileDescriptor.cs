using System.Runtime.InteropServices;

namespace WanBond.Linux.Native;

/// <summary>A Linux file descriptor (TUN device, socket, eventfd), closed exactly once when disposed or finalized.</summary>
public sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    public FileDescriptor(int fd)
        : base(new IntPtr(-1), ownsHandle: true)
    {
        SetHandle(new IntPtr(fd));
    }

    /// <summary>Bytes the kernel puts before each packet read from this descriptor (a TUN's virtio_net_hdr), 0 for none.</summary>
    public int ReadPrefix { get; internal set; }

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw number, for diagnostics only.</summary>
    public int Number => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => FileSyscalls.Close((int)handle.ToInt64()) == 0;
}
