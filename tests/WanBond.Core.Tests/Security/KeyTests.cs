using WanBond.Core.Security;

namespace WanBond.Core.Tests.Security;

public class KeyTests
{
    // RFC 7748 §6.1: Alice's X25519 key pair.
    private const string AlicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    private const string AlicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

    [Fact]
    public void Private_key_derives_the_rfc7748_public_key()
    {
        using var alice = StaticKeyPair.FromPrivateKey(Convert.FromHexString(AlicePrivate));
        Assert.Equal(AlicePublic, Convert.ToHexStringLower(alice.PublicKey.ToArray()));
    }

    [Fact]
    public void Generated_keys_are_44_character_base64_that_round_trips()
    {
        using var key = StaticKeyPair.Generate();
        var privateText = key.PrivateKeyToBase64();
        var publicText = key.PublicKey.ToBase64();
        Assert.Equal(44, privateText.Length);
        Assert.Equal(44, publicText.Length);
        Assert.EndsWith("=", publicText, StringComparison.Ordinal);

        using var again = StaticKeyPair.FromBase64(privateText);
        Assert.Equal(key.PublicKey, again.PublicKey);
        Assert.Equal(key.PublicKey, StaticPublicKey.Parse(publicText));
    }

    [Fact]
    public void Generated_private_keys_are_clamped_like_wg_genkey()
    {
        for (int i = 0; i < 20; i++)
        {
            using var key = StaticKeyPair.Generate();
            var raw = Convert.FromBase64String(key.PrivateKeyToBase64());
            Assert.Equal(0, raw[0] & 7);
            Assert.Equal(0x40, raw[31] & 0xC0);
        }
    }

    [Fact]
    public void Distinct_generated_keys_differ()
    {
        using var a = StaticKeyPair.Generate();
        using var b = StaticKeyPair.Generate();
        Assert.NotEqual(a.PublicKey, b.PublicKey);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("abc=", "4 characters")]
    [InlineData("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo", "43 characters")]
    [InlineData("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==", "45 characters")]
    [InlineData("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==", "exactly one '='")]
    [InlineData("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqq*Tmo=", "outside the base64 alphabet")]
    [InlineData("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=", "not canonical")]
    public void Malformed_public_keys_are_refused_with_a_reason(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => StaticPublicKey.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(StaticPublicKey.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_canonical_form_of_the_rfc_key_parses()
    {
        // Sanity for the theory above: one character away from the rejected non-canonical text.
        var key = StaticPublicKey.Parse("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
        Assert.Equal(AlicePublic, Convert.ToHexStringLower(key.ToArray()));
    }

    [Fact]
    public void Malformed_private_key_message_says_private_key()
    {
        var e = Assert.Throws<FormatException>(() => StaticKeyPair.FromBase64("not a key"));
        Assert.Contains("private key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Public_keys_compare_by_value_and_work_as_dictionary_keys()
    {
        var bytes = Convert.FromHexString(AlicePublic);
        var a = StaticPublicKey.FromBytes(bytes);
        var b = StaticPublicKey.FromBytes(bytes);
        bytes[5] ^= 1;
        var c = StaticPublicKey.FromBytes(bytes);
        Assert.True(a == b);
        Assert.True(a != c);
        var peers = new Dictionary<StaticPublicKey, string> { [a] = "router1" };
        Assert.Equal("router1", peers[b]);
        Assert.False(peers.ContainsKey(c));
        Assert.True(a.FixedTimeEquals(Convert.FromHexString(AlicePublic)));
        Assert.False(a.FixedTimeEquals(bytes));
    }
}
