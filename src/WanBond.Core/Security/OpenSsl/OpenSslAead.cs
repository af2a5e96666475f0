using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace WanBond.Core.Security.OpenSsl;

/// <summary>
/// ChaCha20-Poly1305 for one key through OpenSSL's EVP interface: one cipher context for sealing and one
/// for opening, both keyed at construction (the key then lives only in OpenSSL's memory, which it cleanses
/// when the contexts are freed), then only the nonce is set per packet. Works in place. Not thread-safe,
/// like everything in Core: each engine owns its keys.
/// </summary>
internal sealed unsafe class OpenSslAead : IDisposable
{
    private const int KeySize = ChaChaPolySeal.KeySize;
    private const int NonceSize = 12;
    private const int TagSize = ChaChaPolySeal.TagSize;

    private readonly LibCrypto _api;
    private readonly CipherContext _encrypt;
    private readonly CipherContext _decrypt;
    private bool _disposed;

    public OpenSslAead(LibCrypto api, ReadOnlySpan<byte> key)
    {
        // ChaChaPolySeal has checked the length for its callers; this guards the internal ones.
        ArgumentOutOfRangeException.ThrowIfNotEqual(key.Length, KeySize, nameof(key));
        _api = api;
        _encrypt = NewContext(key, encrypt: true);
        try
        {
            _decrypt = NewContext(key, encrypt: false);
        }
        catch
        {
            _encrypt.Dispose();
            throw;
        }
    }

    /// <summary>Encrypts <paramref name="text"/> in place and writes the 16-byte tag.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>: the context is freed, never used again.</exception>
    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, Span<byte> text, Span<byte> tag)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(Run(_encrypt, encrypt: true, nonce, associatedData, text, tag), "EVP_CipherFinal_ex");
    }

    /// <summary>
    /// Decrypts <paramref name="text"/> in place if <paramref name="tag"/> (read, not written) verifies; otherwise
    /// returns false and leaves zeros where the text was, so no unauthenticated plaintext is ever visible.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, Span<byte> text, Span<byte> tag)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Run(_decrypt, encrypt: false, nonce, associatedData, text, tag))
        {
            return true;
        }
        CryptographicOperations.ZeroMemory(text);
        return false;
    }

    /// <summary>
    /// One AEAD operation in place: nonce, associated data, ChaCha20 over the text, then the tag (written when
    /// encrypting, checked when decrypting). Returns EVP_CipherFinal_ex's verdict; any other failure throws.
    /// </summary>
    private bool Run(CipherContext ctx, bool encrypt, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, Span<byte> text, Span<byte> tag)
    {
        Check(nonce.Length == NonceSize && tag.Length == TagSize, "nonce or tag size");
        bool ok;
        fixed (byte* n = nonce)
        fixed (byte* ad = associatedData)
        fixed (byte* t = text)
        fixed (byte* tg = tag)
        {
            var h = ctx.DangerousGetHandle();
            int len;
            Check(_api.CipherInit(h, 0, 0, null, n, encrypt ? 1 : 0) == 1, "EVP_CipherInit_ex");
            if (!encrypt)
            {
                Check(_api.CtxCtrl(h, LibCrypto.CtrlAeadSetTag, TagSize, tg) == 1, "EVP_CTRL_AEAD_SET_TAG");
            }
            if (associatedData.Length > 0)
            {
                Check(_api.CipherUpdate(h, null, &len, ad, associatedData.Length) == 1, "EVP_CipherUpdate (associated data)");
            }
            int written = 0;
            if (text.Length > 0)
            {
                Check(_api.CipherUpdate(h, t, &len, t, text.Length) == 1, "EVP_CipherUpdate");
                written = len;
            }
            // A stream cipher writes everything in Update; Final only computes (or checks) the tag.
            Check(written == text.Length, "EVP_CipherUpdate length");
            ok = _api.CipherFinal(h, t + written, &len) == 1 && len == 0;
            if (ok && encrypt)
            {
                Check(_api.CtxCtrl(h, LibCrypto.CtrlAeadGetTag, TagSize, tg) == 1, "EVP_CTRL_AEAD_GET_TAG");
            }
        }
        GC.KeepAlive(ctx);
        return ok;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _encrypt.Dispose();
        _decrypt.Dispose();
    }

    private CipherContext NewContext(ReadOnlySpan<byte> key, bool encrypt)
    {
        var ctx = new CipherContext(_api);
        try
        {
            fixed (byte* k = key)
            {
                Check(_api.CipherKey(ctx.DangerousGetHandle(), _api.ChaCha20Poly1305, 0, k, null, encrypt ? 1 : 0) == 1, "EVP_CipherInit_ex (key)");
            }
            return ctx;
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new CryptographicException($"OpenSSL ChaCha20-Poly1305: {what} failed.");
        }
    }

    /// <summary>RFC 8439 §2.8.2: seal must give the RFC's ciphertext and tag, open must undo it, a changed tag must fail.</summary>
    internal static bool PassesKnownAnswerTest(LibCrypto api)
    {
        var key = new byte[KeySize];
        for (int i = 0; i < KeySize; i++)
        {
            key[i] = (byte)(0x80 + i);
        }
        byte[] nonce = [0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47];
        byte[] ad = [0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7];
        var plain = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."u8.ToArray();
        var expected = Convert.FromHexString(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116");
        var expectedTag = Convert.FromHexString("1ae10b594f09e26a7e902ecbd0600691");
        try
        {
            using var aead = new OpenSslAead(api, key);
            var text = (byte[])plain.Clone();
            var tag = new byte[TagSize];
            aead.Encrypt(nonce, ad, text, tag);
            if (!text.AsSpan().SequenceEqual(expected) || !tag.AsSpan().SequenceEqual(expectedTag))
            {
                return false;
            }
            if (!aead.TryDecrypt(nonce, ad, text, tag) || !text.AsSpan().SequenceEqual(plain))
            {
                return false;
            }
            aead.Encrypt(nonce, ad, text, tag);
            tag[0] ^= 1;
            return !aead.TryDecrypt(nonce, ad, text, tag);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>An EVP_CIPHER_CTX, freed (and its key schedule cleansed by OpenSSL) when released.</summary>
    private sealed class CipherContext : SafeHandle
    {
        private readonly LibCrypto _api;

        public CipherContext(LibCrypto api)
            : base(0, ownsHandle: true)
        {
            _api = api;
            SetHandle(api.CtxNew());
            if (IsInvalid)
            {
                throw new CryptographicException("OpenSSL ChaCha20-Poly1305: EVP_CIPHER_CTX_new returned null.");
            }
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            _api.CtxFree(handle);
            return true;
        }
    }
}
