using WanBond.Core.Security;
using WanBond.Core.Wire;

namespace WanBond.Core.Tests.Security;

public class SecurityAllocationTests
{
    [Fact]
    public void Seal_open_and_replay_check_allocate_nothing_per_packet()
    {
        using var h = new SecurityHarness();
        using var router = new KeyRing();
        using var proxy = new KeyRing();
        var (i, r) = h.Handshake(1, 2, 0);
        router.Install(i, 0);
        proxy.Install(r, 0);
        var datagram = new byte[1500];
        long allocated = -1;
        int opened = 0;

        for (int round = 0; round < 2; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (ulong n = 0; n < 1000; n++)
            {
                ulong pn = ((ulong)round * 1000) + n;
                var header = new ClearHeader(PacketType.Data, router.SendIndex, (byte)(pn % SecurityHarness.Paths), pn);
                header.Write(datagram);
                int length = router.Seal(datagram, ClearHeader.Size, 1400, header.Nonce);
                opened += proxy.TryOpen(datagram.AsSpan(0, length), ClearHeader.Size, header.Nonce, (long)pn, out _, out _) ? 1 : 0;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(2000, opened);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Mac_checks_and_rate_limiting_allocate_nothing_per_message()
    {
        using var h = new SecurityHarness();
        using var initiator = h.NewInitiator(1);
        var m = new byte[HandshakeInitiation.Size];
        initiator.WriteInitiation(m, 0, 0, 0);
        var limiter = new HandshakeRateLimiter();
        byte[] source = [192, 0, 2, 1, 0, 80];
        long allocated = -1;
        int cookieRequired = 0;
        for (int round = 0; round < 2; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int n = 0; n < 1000; n++)
            {
                cookieRequired += h.Responder.Cookies.Check(m, source, underLoad: true, n) == MacCheck.CookieRequired ? 1 : 0;
                limiter.Allow(source, n);
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(2000, cookieRequired);
        Assert.Equal(0, allocated);
    }
}
