namespace WanBond.Core.Security;

/// <summary>
/// Base64 text of 32-byte keys, as WireGuard writes them: standard alphabet, padded, 44 characters.
/// Only the canonical encoding is accepted (the two spare bits before the '=' must be zero), so a
/// key has exactly one text form and two configs cannot name the same peer differently.
/// </summary>
internal static class KeyText
{
    public const int KeySize = 32;

    public const int Length = 44;

    public static void Decode(string? text, string what, Span<byte> key)
    {
        if (!TryDecode(text, what, key, out var error))
        {
            throw new FormatException(error);
        }
    }

    public static bool TryDecode(string? text, string what, Span<byte> key, out string? error)
    {
        if (string.IsNullOrEmpty(text))
        {
            error = $"The {what} is empty; expected {Length} characters of base64 (as printed by 'wanbond genkey' / 'wanbond pubkey').";
            return false;
        }

        if (text.Length != Length)
        {
            error = $"The {what} is {text.Length} characters long; a base64 Curve25519 key is exactly {Length} characters ending in '='.";
            return false;
        }

        if (text[Length - 1] != '=' || text[Length - 2] == '=')
        {
            error = $"The {what} does not end in exactly one '=': it is not the base64 of a 32-byte key.";
            return false;
        }

        if (!Convert.TryFromBase64String(text, key, out int written) || written != KeySize)
        {
            error = $"The {what} contains characters outside the base64 alphabet (A-Z, a-z, 0-9, '+', '/').";
            return false;
        }

        // 32 bytes = 256 bits in 43 characters of 6 bits: the last character's low 2 bits carry nothing.
        if (!string.Equals(Convert.ToBase64String(key[..KeySize]), text, StringComparison.Ordinal))
        {
            key.Clear();
            error = $"The {what} is not canonical base64 (its last character before '=' has stray low bits).";
            return false;
        }

        error = null;
        return true;
    }
}
