using System.Security.Cryptography;

namespace WanBond.Linux.Datapath;

internal static class SessionIds
{
    /// <summary>A random non-zero session id (0 means "no session" on the wire).</summary>
    public static uint NewId()
    {
        Span<byte> b = stackalloc byte[4];
        uint id;
        do
        {
            RandomNumberGenerator.Fill(b);
            id = BitConverter.ToUInt32(b);
        }
        while (id == 0);
        return id;
    }
}
