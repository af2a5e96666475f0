using System.Text;
using WanBond.Core.Security;
using static WanBond.Core.Tests.Security.NoiseVectors;

namespace WanBond.Core.Tests.Security;

public class NoiseIKVectorTests
{
    [Fact]
    public void Protocol_name_is_the_suite_of_the_vector()
    {
        Assert.Equal(ProtocolName, Encoding.ASCII.GetString(NoiseIK.ProtocolName));
    }

    [Fact]
    public void Static_keys_derive_the_published_public_key()
    {
        using var resp = StaticKeyPair.FromPrivateKey(Hex(RespStatic));
        Assert.Equal(InitRemoteStatic, Convert.ToHexStringLower(resp.PublicKey.ToArray()));
    }

    [Fact]
    public void Initiator_writes_the_published_message_1_and_reads_message_2()
    {
        using var s = StaticKeyPair.FromPrivateKey(Hex(InitStatic));
        using var initiator = NoiseIK.CreateWithEphemeral(
            true, s, StaticPublicKey.FromBytes(Hex(InitRemoteStatic)), Hex(Prologue), Hex(InitEphemeral));

        var m1 = new byte[256];
        int n1 = initiator.WriteMessage1(Hex(Messages[0].Payload), m1);
        Assert.Equal(Messages[0].Ciphertext, Convert.ToHexStringLower(m1, 0, n1));

        var payload = new byte[64];
        Assert.True(initiator.TryReadMessage2(Hex(Messages[1].Ciphertext), payload, out int p2));
        Assert.Equal(Messages[1].Payload, Convert.ToHexStringLower(payload, 0, p2));
        Assert.True(initiator.IsComplete);
        Assert.Equal(FinalHandshakeHash, Convert.ToHexStringLower(initiator.HandshakeHash));
    }

    [Fact]
    public void Responder_reads_the_published_message_1_and_writes_message_2()
    {
        using var s = StaticKeyPair.FromPrivateKey(Hex(RespStatic));
        using var responder = NoiseIK.CreateWithEphemeral(false, s, default, Hex(Prologue), Hex(RespEphemeral));

        var payload = new byte[64];
        Assert.True(responder.TryReadMessage1(Hex(Messages[0].Ciphertext), payload, out int p1));
        Assert.Equal(Messages[0].Payload, Convert.ToHexStringLower(payload, 0, p1));

        using var initStatic = StaticKeyPair.FromPrivateKey(Hex(InitStatic));
        Assert.Equal(initStatic.PublicKey, responder.RemoteStatic);

        var m2 = new byte[256];
        int n2 = responder.WriteMessage2(Hex(Messages[1].Payload), m2);
        Assert.Equal(Messages[1].Ciphertext, Convert.ToHexStringLower(m2, 0, n2));
        Assert.Equal(FinalHandshakeHash, Convert.ToHexStringLower(responder.HandshakeHash));
    }

    [Fact]
    public void Split_keys_seal_the_published_transport_messages()
    {
        using var si = StaticKeyPair.FromPrivateKey(Hex(InitStatic));
        using var sr = StaticKeyPair.FromPrivateKey(Hex(RespStatic));
        using var initiator = NoiseIK.CreateWithEphemeral(true, si, sr.PublicKey, Hex(Prologue), Hex(InitEphemeral));
        using var responder = NoiseIK.CreateWithEphemeral(false, sr, default, Hex(Prologue), Hex(RespEphemeral));
        var buf = new byte[256];
        var payload = new byte[64];
        int n = initiator.WriteMessage1(Hex(Messages[0].Payload), buf);
        Assert.True(responder.TryReadMessage1(buf.AsSpan(0, n), payload, out _));
        n = responder.WriteMessage2(Hex(Messages[1].Payload), buf);
        Assert.True(initiator.TryReadMessage2(buf.AsSpan(0, n), payload, out _));

        var iSend = new byte[32];
        var iRecv = new byte[32];
        var rSend = new byte[32];
        var rRecv = new byte[32];
        initiator.Split(iSend, iRecv);
        responder.Split(rSend, rRecv);
        Assert.Equal(iSend, rRecv);
        Assert.Equal(iRecv, rSend);

        // Transport messages: Noise nonce = 4 zero bytes + LE counter, empty AD: exactly ChaChaPolySeal with no header.
        using var initiatorSend = new ChaChaPolySeal(iSend);
        using var responderSend = new ChaChaPolySeal(rSend);
        ulong toResponder = 0;
        ulong toInitiator = 0;
        for (int i = 2; i < Messages.Length; i++)
        {
            var plain = Hex(Messages[i].Payload);
            var datagram = new byte[plain.Length + ChaChaPolySeal.TagSize];
            plain.CopyTo(datagram, 0);
            bool fromInitiator = i % 2 == 0;
            int len = fromInitiator
                ? initiatorSend.Seal(datagram, 0, plain.Length, toResponder++)
                : responderSend.Seal(datagram, 0, plain.Length, toInitiator++);
            Assert.Equal(Messages[i].Ciphertext, Convert.ToHexStringLower(datagram, 0, len));
        }
    }
}
