using System.Security.Cryptography;
using NSec.Cryptography;

namespace WanBond.Core.Security;

/// <summary>
/// The Noise_IK_25519_ChaChaPoly_BLAKE2b handshake (Noise spec rev. 34), sans-IO: bytes in, bytes out.
/// <code>
/// IK:
///   &lt;- s
///   ...
///   -> e, es, s, ss
///   &lt;- e, ee, se
/// </code>
/// The initiator knows the responder's static key beforehand; one round trip authenticates both
/// sides, hides the initiator's identity from observers (its static key travels encrypted), and uses
/// fresh ephemeral keys on both sides. Both roles share this class: create it with
/// <see cref="CreateInitiator"/> or <see cref="CreateResponder"/>, exchange the two messages,
/// then <see cref="Split"/>.
/// <para>
/// A message that fails to read leaves the state exactly as it was, so a forged message cannot
/// break a handshake in progress: the real one can still arrive.
/// </para>
/// </summary>
public sealed class NoiseIK : IDisposable
{
    /// <summary>The full protocol name; it seeds the handshake hash, so both ends must agree on it byte for byte.</summary>
    public static ReadOnlySpan<byte> ProtocolName => "Noise_IK_25519_ChaChaPoly_BLAKE2b"u8;

    /// <summary>Size of an X25519 public key on the wire.</summary>
    public const int DhLength = 32;

    /// <summary>HASHLEN: BLAKE2b-512.</summary>
    public const int HashLength = Blake2bHmac.HashLength;

    public const int TagLength = 16;

    /// <summary>Message 1 without payload: e (32) + encrypted s (32 + 16) + the payload's tag (16).</summary>
    public const int Message1Overhead = DhLength + DhLength + TagLength + TagLength;

    /// <summary>Message 2 without payload: e (32) + the payload's tag (16).</summary>
    public const int Message2Overhead = DhLength + TagLength;

    private static readonly KeyAgreementAlgorithm X25519 = KeyAgreementAlgorithm.X25519;
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;

    private readonly bool _initiator;
    private readonly StaticKeyPair _s;
    private readonly byte[] _ck = new byte[HashLength];
    private readonly byte[] _h = new byte[HashLength];
    private readonly byte[] _k = new byte[ChaChaPolySeal.KeySize];
    private ulong _n;
    private Key? _e;
    private readonly byte[] _ePublic = new byte[DhLength];
    private readonly byte[] _re = new byte[DhLength];
    private StaticPublicKey _rs;
    private int _step; // messages processed: 0, 1, 2
    private Key? _injectedEphemeral;

    private NoiseIK(bool initiator, StaticKeyPair localStatic, ReadOnlySpan<byte> prologue, StaticPublicKey responderStatic, Key? ephemeral)
    {
        ArgumentNullException.ThrowIfNull(localStatic);
        _initiator = initiator;
        _s = localStatic;
        _injectedEphemeral = ephemeral;

        // InitializeSymmetric: the 33-byte name fits in HASHLEN, so h = name zero-padded; ck = h.
        ProtocolName.CopyTo(_h);
        _h.CopyTo(_ck, 0);
        MixHash(prologue);

        // Pre-message "<- s": both sides hash the responder's static key.
        Span<byte> rs = stackalloc byte[DhLength];
        responderStatic.CopyTo(rs);
        MixHash(rs);
        if (initiator)
        {
            _rs = responderStatic;
        }
    }

    /// <summary>An initiator that knows the responder's static public key.</summary>
    public static NoiseIK CreateInitiator(StaticKeyPair localStatic, StaticPublicKey responderStatic, ReadOnlySpan<byte> prologue)
    {
        ArgumentNullException.ThrowIfNull(localStatic);
        if (responderStatic.IsZero)
        {
            throw new ArgumentException("The responder's static key is required for IK.", nameof(responderStatic));
        }

        return new NoiseIK(true, localStatic, prologue, responderStatic, null);
    }

    public static NoiseIK CreateResponder(StaticKeyPair localStatic, ReadOnlySpan<byte> prologue)
    {
        ArgumentNullException.ThrowIfNull(localStatic);
        return new NoiseIK(false, localStatic, prologue, localStatic.PublicKey, null);
    }

    /// <summary>For test vectors: the ephemeral key is given instead of generated.</summary>
    internal static NoiseIK CreateWithEphemeral(bool initiator, StaticKeyPair localStatic, StaticPublicKey responderStatic, ReadOnlySpan<byte> prologue, ReadOnlySpan<byte> ephemeralPrivate)
    {
        var e = Key.Import(X25519, ephemeralPrivate, KeyBlobFormat.RawPrivateKey);
        return new NoiseIK(initiator, localStatic, prologue, initiator ? responderStatic : localStatic.PublicKey, e);
    }

    public bool IsInitiator => _initiator;

    /// <summary>Both messages are done: <see cref="Split"/> may be called.</summary>
    public bool IsComplete => _step == 2;

    /// <summary>
    /// The peer's static public key. For the responder it is known once message 1 has been read,
    /// which is when the proxy looks the peer up (and rejects unknown keys before answering).
    /// </summary>
    public StaticPublicKey RemoteStatic => _rs;

    /// <summary>
    /// The handshake hash h: a transcript of everything both sides sent. Equal on both sides after a
    /// successful handshake; usable as a channel binding.
    /// </summary>
    public ReadOnlySpan<byte> HandshakeHash => _h;

    /// <summary>Message 1 (initiator): <c>e, es, s, ss</c> and the encrypted payload.</summary>
    /// <returns>Bytes written: <see cref="Message1Overhead"/> + payload length.</returns>
    public int WriteMessage1(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (!_initiator || _step != 0)
        {
            throw new InvalidOperationException("Message 1 is written once, by the initiator, first.");
        }

        int length = Message1Overhead + payload.Length;
        if (destination.Length < length)
        {
            throw new ArgumentException($"Message 1 needs {length} bytes.", nameof(destination));
        }

        Span<byte> dh = stackalloc byte[DhLength];
        Span<byte> pub = stackalloc byte[DhLength];
        try
        {
            CreateEphemeral();
            _ePublic.CopyTo(destination);
            MixHash(_ePublic);

            if (!Dh(_e!, _rs, dh))
            {
                throw new InvalidOperationException("The responder's static key is a low-order point.");
            }

            MixKey(dh);
            _s.PublicKey.CopyTo(pub);
            EncryptAndHash(pub, destination.Slice(DhLength, DhLength + TagLength));
            if (!Dh(_s.Key, _rs, dh))
            {
                throw new InvalidOperationException("The responder's static key is a low-order point.");
            }

            MixKey(dh);
            EncryptAndHash(payload, destination.Slice(DhLength + DhLength + TagLength, payload.Length + TagLength));
            _step = 1;
            return length;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>Reads message 1 (responder). On success <see cref="RemoteStatic"/> names the initiator.</summary>
    /// <param name="payload">Receives the decrypted payload: needs <c>message.Length - Message1Overhead</c> bytes.</param>
    /// <returns>False when the message is too short or does not authenticate; the state is then unchanged.</returns>
    public bool TryReadMessage1(ReadOnlySpan<byte> message, Span<byte> payload, out int payloadLength)
    {
        payloadLength = 0;
        if (_initiator || _step != 0)
        {
            throw new InvalidOperationException("Message 1 is read once, by the responder, first.");
        }

        int plain = message.Length - Message1Overhead;
        if (plain < 0 || payload.Length < plain)
        {
            return false;
        }

        var saved = Save();
        bool ok = false;
        Span<byte> dh = stackalloc byte[DhLength];
        Span<byte> rs = stackalloc byte[DhLength];
        try
        {
            var re = message[..DhLength];
            MixHash(re);
            if (!Dh(_s.Key, re, dh))
            {
                return false;
            }

            MixKey(dh);
            if (!DecryptAndHash(message.Slice(DhLength, DhLength + TagLength), rs) || !Dh(_s.Key, rs, dh))
            {
                return false;
            }

            MixKey(dh);
            if (!DecryptAndHash(message[(DhLength + DhLength + TagLength)..], payload[..plain]))
            {
                payload[..plain].Clear();
                return false;
            }

            re.CopyTo(_re);
            _rs = StaticPublicKey.FromBytes(rs);
            _step = 1;
            payloadLength = plain;
            ok = true;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
            Finish(saved, ok);
        }
    }

    /// <summary>Message 2 (responder): <c>e, ee, se</c> and the encrypted payload.</summary>
    public int WriteMessage2(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (_initiator || _step != 1)
        {
            throw new InvalidOperationException("Message 2 is written by the responder after reading message 1.");
        }

        int length = Message2Overhead + payload.Length;
        if (destination.Length < length)
        {
            throw new ArgumentException($"Message 2 needs {length} bytes.", nameof(destination));
        }

        Span<byte> dh = stackalloc byte[DhLength];
        try
        {
            CreateEphemeral();
            _ePublic.CopyTo(destination);
            MixHash(_ePublic);
            if (!Dh(_e!, _re, dh))
            {
                throw new InvalidOperationException("The initiator's ephemeral key is a low-order point.");
            }

            MixKey(dh);
            if (!Dh(_e!, _rs, dh))
            {
                throw new InvalidOperationException("The initiator's static key is a low-order point.");
            }

            MixKey(dh);
            EncryptAndHash(payload, destination.Slice(DhLength, payload.Length + TagLength));
            _step = 2;
            return length;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>Reads message 2 (initiator). On success the handshake is complete.</summary>
    /// <returns>False when the message is too short or does not authenticate; the state is then unchanged.</returns>
    public bool TryReadMessage2(ReadOnlySpan<byte> message, Span<byte> payload, out int payloadLength)
    {
        payloadLength = 0;
        if (!_initiator || _step != 1)
        {
            throw new InvalidOperationException("Message 2 is read by the initiator after writing message 1.");
        }

        int plain = message.Length - Message2Overhead;
        if (plain < 0 || payload.Length < plain)
        {
            return false;
        }

        var saved = Save();
        bool ok = false;
        Span<byte> dh = stackalloc byte[DhLength];
        try
        {
            var re = message[..DhLength];
            MixHash(re);
            if (!Dh(_e!, re, dh))
            {
                return false;
            }

            MixKey(dh);
            if (!Dh(_s.Key, re, dh))
            {
                return false;
            }

            MixKey(dh);
            if (!DecryptAndHash(message[DhLength..], payload[..plain]))
            {
                payload[..plain].Clear();
                return false;
            }

            re.CopyTo(_re);
            _step = 2;
            payloadLength = plain;
            ok = true;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
            Finish(saved, ok);
        }
    }

    /// <summary>
    /// Split (spec §5.2): the two transport keys. The initiator sends with the first and receives with
    /// the second; the responder the other way round. The handshake's secrets are erased.
    /// </summary>
    public void Split(Span<byte> sendKey, Span<byte> receiveKey)
    {
        if (!IsComplete)
        {
            throw new InvalidOperationException("Split needs a complete handshake.");
        }

        if (sendKey.Length < ChaChaPolySeal.KeySize || receiveKey.Length < ChaChaPolySeal.KeySize)
        {
            throw new ArgumentException("Transport keys are 32 bytes.");
        }

        Span<byte> k1 = stackalloc byte[HashLength];
        Span<byte> k2 = stackalloc byte[HashLength];
        Blake2bHmac.Hkdf(_ck, default, k1, k2, default);
        (_initiator ? k1 : k2)[..ChaChaPolySeal.KeySize].CopyTo(sendKey);
        (_initiator ? k2 : k1)[..ChaChaPolySeal.KeySize].CopyTo(receiveKey);
        CryptographicOperations.ZeroMemory(k1);
        CryptographicOperations.ZeroMemory(k2);
        EraseSecrets();
    }

    public void Dispose()
    {
        EraseSecrets();
        _e?.Dispose();
        _injectedEphemeral?.Dispose();
    }

    private void EraseSecrets()
    {
        CryptographicOperations.ZeroMemory(_ck);
        CryptographicOperations.ZeroMemory(_k);
        _e?.Dispose();
        _e = null;
    }

    private void CreateEphemeral()
    {
        if (_injectedEphemeral is not null)
        {
            _e = _injectedEphemeral;
            _injectedEphemeral = null;
        }
        else
        {
            _e = Key.Create(X25519);
        }

        _e.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, _ePublic, out _);
    }

    private static bool Dh(Key privateKey, StaticPublicKey publicKey, Span<byte> output)
    {
        Span<byte> raw = stackalloc byte[DhLength];
        publicKey.CopyTo(raw);
        return Dh(privateKey, raw, output);
    }

    // X25519; false for a low-order peer key (all-zero output), which NSec reports as no secret.
    private static bool Dh(Key privateKey, ReadOnlySpan<byte> publicKey, Span<byte> output)
    {
        if (!PublicKey.TryImport(X25519, publicKey, KeyBlobFormat.RawPublicKey, out var pub) || pub is null)
        {
            return false;
        }

        var parameters = new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        using var secret = X25519.Agree(privateKey, pub, in parameters);
        if (secret is null)
        {
            return false;
        }

        return secret.TryExport(SharedSecretBlobFormat.RawSharedSecret, output, out int written) && written == DhLength;
    }

    private void MixHash(ReadOnlySpan<byte> data) => Blake2bHmac.HashOf(_h, data, default, _h);

    private void MixKey(ReadOnlySpan<byte> ikm)
    {
        Span<byte> tempK = stackalloc byte[HashLength];
        Blake2bHmac.Hkdf(_ck, ikm, _ck, tempK, default);
        tempK[..ChaChaPolySeal.KeySize].CopyTo(_k);
        _n = 0;
        CryptographicOperations.ZeroMemory(tempK);
    }

    private void EncryptAndHash(ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        // In IK every EncryptAndHash comes after a MixKey, so there is always a key.
        using (var key = Key.Import(Aead, _k, KeyBlobFormat.RawSymmetricKey))
        {
            Span<byte> nonce = stackalloc byte[12];
            ChaChaPolySeal.WriteNonce(nonce, _n);
            Aead.Encrypt(key, nonce, _h, plaintext, ciphertext[..(plaintext.Length + TagLength)]);
        }

        _n++;
        MixHash(ciphertext[..(plaintext.Length + TagLength)]);
    }

    private bool DecryptAndHash(ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        using (var key = Key.Import(Aead, _k, KeyBlobFormat.RawSymmetricKey))
        {
            Span<byte> nonce = stackalloc byte[12];
            ChaChaPolySeal.WriteNonce(nonce, _n);
            if (!Aead.Decrypt(key, nonce, _h, ciphertext, plaintext[..(ciphertext.Length - TagLength)]))
            {
                return false;
            }
        }

        _n++;
        MixHash(ciphertext);
        return true;
    }

    private Snapshot Save() => new((byte[])_ck.Clone(), (byte[])_h.Clone(), (byte[])_k.Clone(), _n);

    // A failed read puts everything back, so a forged message does not disturb the handshake.
    private void Finish(Snapshot s, bool ok)
    {
        if (!ok)
        {
            s.Ck.CopyTo(_ck, 0);
            s.H.CopyTo(_h, 0);
            s.K.CopyTo(_k, 0);
            _n = s.N;
        }

        CryptographicOperations.ZeroMemory(s.Ck);
        CryptographicOperations.ZeroMemory(s.K);
    }

    private sealed record Snapshot(byte[] Ck, byte[] H, byte[] K, ulong N);
}
