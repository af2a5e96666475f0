using WanBond.Core.Security;

namespace WanBond.Core.Tests.Security;

public sealed class KeyFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wanbond-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Written_key_file_has_mode_0600_and_reads_back()
    {
        using var key = StaticKeyPair.Generate();
        var path = Path.Combine(_dir, "private.key");
        KeyFile.WritePrivateKey(path, key);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Equal(key.PrivateKeyToBase64() + "\n", File.ReadAllText(path));
        using var read = KeyFile.ReadPrivateKey(path);
        Assert.Equal(key.PublicKey, read.PublicKey);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0644")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, "0640")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherRead, "0404")]
    public void Group_or_world_readable_key_file_is_refused_naming_the_file(UnixFileMode mode, string octal)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var key = StaticKeyPair.Generate();
        var path = Path.Combine(_dir, "loose.key");
        File.WriteAllText(path, key.PrivateKeyToBase64() + "\n");
        File.SetUnixFileMode(path, mode);

        var e = Assert.Throws<KeyFileException>(() => KeyFile.ReadPrivateKey(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(octal, e.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void Missing_file_message_names_it()
    {
        var path = Path.Combine(_dir, "absent.key");
        var e = Assert.Throws<KeyFileException>(() => KeyFile.ReadPrivateKey(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_content_message_names_the_file_and_the_problem()
    {
        var path = Path.Combine(_dir, "garbage.key");
        File.WriteAllText(path, "this is not a key\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, KeyFile.PrivateMode);
        }

        var e = Assert.Throws<KeyFileException>(() => KeyFile.ReadPrivateKey(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("characters long", e.Message, StringComparison.Ordinal);
        Assert.IsType<FormatException>(e.InnerException);
    }

    [Fact]
    public void Existing_key_is_not_overwritten_unless_asked()
    {
        using var first = StaticKeyPair.Generate();
        using var second = StaticKeyPair.Generate();
        var path = Path.Combine(_dir, "k.key");
        KeyFile.WritePrivateKey(path, first);
        Assert.Throws<KeyFileException>(() => KeyFile.WritePrivateKey(path, second));
        using (var read = KeyFile.ReadPrivateKey(path))
        {
            Assert.Equal(first.PublicKey, read.PublicKey);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        }

        KeyFile.WritePrivateKey(path, second, overwrite: true);
        using var replaced = KeyFile.ReadPrivateKey(path); // would throw if the old loose mode had survived
        Assert.Equal(second.PublicKey, replaced.PublicKey);
    }
}
