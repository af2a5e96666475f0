using WanBond.Core.Security;
using WanBond.Core.Sessions;

namespace WanBond.Linux.Tests;

/// <summary>
/// The benchmark-only null-seal transport (insecure_null_transport): both ends handshake as usual and then skip
/// encryption; an end that encrypts and an end that does not never complete a handshake with each other.
/// </summary>
public class NullTransportTests
{
    [Theory]
    [InlineData(true, true, true)]
    [InlineData(false, false, true)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    public void Handshake_completes_only_when_both_ends_agree_on_the_transport(bool routerInsecure, bool proxyInsecure, bool completes)
    {
        using var routerKey = StaticKeyPair.Generate();
        using var proxyKey = StaticKeyPair.Generate();
        using var responder = new HandshakeResponder(proxyKey, proxyInsecure);
        var security = SessionSecurity.ForInitiator(routerKey, proxyKey.PublicKey, 1_000_000);
        var router = new Session(new SessionOptions { PathCount = 1 }, routerInsecure ? security.WithInsecureNullTransport() : security, SessionRole.Initiator, 0);
        var buffer = new byte[2048];
        router.HandleTimeout(0);
        Assert.True(router.TryPollDatagram(0, buffer, out var n, out _), "the router sends an initiation");
        var read = responder.TryReadInitiation(buffer.AsSpan(0, n), out var handshake, out var reason);
        Assert.Equal(completes, read);
        if (!completes)
        {
            Assert.Equal(WanBond.Core.Wire.DropReason.AuthenticationFailed, reason);
            return;
        }
        var proxy = new Session(new SessionOptions { PathCount = 1 }, SessionSecurity.ForResponder(), SessionRole.Responder, 0);
        using (handshake)
        {
            n = proxy.AcceptHandshake(handshake!, 0x1234, buffer, 0);
        }
        router.ReceiveDatagram(0, buffer.AsSpan(0, n), 10);
        Assert.True(router.IsEstablished);

        // An inner packet crosses; with the null seal its bytes travel in the clear, with ChaCha20-Poly1305 they do not.
        var inner = new byte[100];
        inner[0] = 0x45;
        inner[2] = 0;
        inner[3] = 100;
        "secret payload"u8.CopyTo(inner.AsSpan(40));
        Assert.True(router.SubmitInner(inner, 20));
        var sawData = false;
        while (router.TryPollDatagram(20, buffer, out n, out _))
        {
            var clear = buffer.AsSpan(0, n).IndexOf("secret payload"u8) >= 0;
            if (n > 100)
            {
                sawData = true;
                Assert.Equal(routerInsecure, clear);
            }
            proxy.ReceiveDatagram(0, buffer.AsSpan(0, n), 30);
        }
        Assert.True(sawData);
        var output = new byte[2048];
        Assert.True(proxy.TryPollInner(output, out var length));
        Assert.Equal(inner, output.AsSpan(0, length).ToArray());
        router.ReleaseKeys();
        proxy.ReleaseKeys();
    }
}
