using System.Runtime.InteropServices;

namespace WanBond.Core.Security.OpenSsl;

/// <summary>
/// The few EVP functions of OpenSSL's libcrypto that ChaCha20-Poly1305 needs, bound at run time.
/// OpenSSL is already on every Linux machine .NET runs on (the runtime's own cryptography uses it),
/// and its ChaCha20 and Poly1305 are hand-tuned assembly for x86-64 (AVX2/AVX-512) and ARMv8 (NEON),
/// where libsodium has no NEON code for either. Calling EVP directly lets one cipher context per key
/// be reused with only the nonce changed per packet; .NET's own ChaCha20Poly1305 class sets the key
/// up again on every call (0.93 µs against 1.55 µs per 1420-byte packet here, and 2.0 µs through NSec).
/// Loaded by name (libcrypto.so.3, then 1.1); <see cref="Load"/> returns null when it is missing or
/// fails its known-answer test, and the seal then uses libsodium through NSec.
/// </summary>
internal sealed unsafe class LibCrypto
{
    public const int CtrlAeadGetTag = 0x10;
    public const int CtrlAeadSetTag = 0x11;

    private static readonly string[] Names = ["libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"];

    private LibCrypto(string name, nint library)
    {
        Name = name;
        ChaCha20Poly1305 = ((delegate* unmanaged<nint>)Export(library, "EVP_chacha20_poly1305"))();
        CtxNew = (delegate* unmanaged<nint>)Export(library, "EVP_CIPHER_CTX_new");
        CtxFree = (delegate* unmanaged<nint, void>)Export(library, "EVP_CIPHER_CTX_free");
        CipherInit = (delegate* unmanaged[SuppressGCTransition]<nint, nint, nint, byte*, byte*, int, int>)Export(library, "EVP_CipherInit_ex");
        CipherKey = (delegate* unmanaged<nint, nint, nint, byte*, byte*, int, int>)Export(library, "EVP_CipherInit_ex");
        CipherUpdate = (delegate* unmanaged[SuppressGCTransition]<nint, byte*, int*, byte*, int, int>)Export(library, "EVP_CipherUpdate");
        CipherFinal = (delegate* unmanaged[SuppressGCTransition]<nint, byte*, int*, int>)Export(library, "EVP_CipherFinal_ex");
        CtxCtrl = (delegate* unmanaged[SuppressGCTransition]<nint, int, int, void*, int>)Export(library, "EVP_CIPHER_CTX_ctrl");
        if (ChaCha20Poly1305 == 0)
        {
            throw new EntryPointNotFoundException("EVP_chacha20_poly1305 returned no cipher");
        }
    }

    /// <summary>The library file that was loaded, e.g. libcrypto.so.3.</summary>
    public string Name { get; }

    public nint ChaCha20Poly1305 { get; }

    public delegate* unmanaged<nint> CtxNew { get; }

    public delegate* unmanaged<nint, void> CtxFree { get; }

    // The four per-packet calls skip the runtime's GC transition (SuppressGCTransition: ~8 % of a seal + open):
    // on a context already keyed they only compute (ChaCha20 and Poly1305 over at most one datagram, about a
    // microsecond), never block, take no lock and never call back into .NET. Context creation, freeing and the
    // cipher lookup keep the normal transition.

    /// <summary>EVP_CipherInit_ex with a cipher and key: once per context (may look the cipher up in OpenSSL's provider store, under a lock).</summary>
    public delegate* unmanaged<nint, nint, nint, byte*, byte*, int, int> CipherKey { get; }

    /// <summary>EVP_CipherInit_ex(ctx, null, null, null, iv, enc) on a keyed context: 1 on success.</summary>
    public delegate* unmanaged[SuppressGCTransition]<nint, nint, nint, byte*, byte*, int, int> CipherInit { get; }

    /// <summary>EVP_CipherUpdate(ctx, out, outl, in, inl): 1 on success; out null feeds associated data.</summary>
    public delegate* unmanaged[SuppressGCTransition]<nint, byte*, int*, byte*, int, int> CipherUpdate { get; }

    /// <summary>EVP_CipherFinal_ex(ctx, out, outl): 1 on success; when decrypting, 0 if the tag does not verify.</summary>
    public delegate* unmanaged[SuppressGCTransition]<nint, byte*, int*, int> CipherFinal { get; }

    public delegate* unmanaged[SuppressGCTransition]<nint, int, int, void*, int> CtxCtrl { get; }

    private static nint Export(nint library, string name) => NativeLibrary.GetExport(library, name);

    /// <summary>libcrypto if it loads and passes RFC 8439's AEAD test vector; otherwise null.</summary>
    public static LibCrypto? Load()
    {
        foreach (var name in Names)
        {
            if (!NativeLibrary.TryLoad(name, out var library))
            {
                continue;
            }
            try
            {
                var api = new LibCrypto(name, library);
                if (OpenSslAead.PassesKnownAnswerTest(api))
                {
                    return api; // the library stays loaded for the life of the process
                }
            }
            catch (EntryPointNotFoundException)
            {
                // Not an OpenSSL with ChaCha20-Poly1305 (1.0.x, or a stripped build): try the next name.
            }
            NativeLibrary.Free(library);
        }
        return null;
    }
}
