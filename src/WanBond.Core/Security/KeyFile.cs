using System.Text;

namespace WanBond.Core.Security;

/// <summary>
/// Reads and writes private key files: one line, the 44-character base64 key (the format of
/// <c>wg genkey &gt; file</c>). A private key file that group or others may access is refused,
/// because a key anyone else on the machine could have read must be considered leaked.
/// </summary>
public static class KeyFile
{
    /// <summary>The only mode a private key file may have: read and write for its owner.</summary>
    public const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    // Far more than a key and a newline: a bigger file is not a key file, so it is not read whole.
    private const int MaxFileBytes = 1024;

    /// <exception cref="KeyFileException">Missing, accessible by group or others, or not a key; the message names the file.</exception>
    public static StaticKeyPair ReadPrivateKey(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new KeyFileException(path, $"Private key file '{path}' does not exist (create one with 'wanbond genkey').");
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupOrOther) != 0)
            {
                throw new KeyFileException(
                    path,
                    $"Private key file '{path}' has mode {FormatMode(mode)}: group or others can access it, so the key may have leaked. " +
                    $"Refusing to use it. Fix with: chmod 600 '{path}' (and consider generating a new key).");
            }
        }

        string text;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > MaxFileBytes)
            {
                throw new KeyFileException(path, $"Private key file '{path}' is {stream.Length} bytes; a key file holds one 44-character base64 key.");
            }

            using var reader = new StreamReader(stream, Encoding.ASCII);
            text = reader.ReadToEnd().Trim();
        }
        catch (IOException e) when (e is not KeyFileException)
        {
            throw new KeyFileException(path, $"Private key file '{path}' could not be read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new KeyFileException(path, $"Private key file '{path}' could not be read: {e.Message}", e);
        }

        try
        {
            return StaticKeyPair.FromBase64(text);
        }
        catch (FormatException e)
        {
            throw new KeyFileException(path, $"Private key file '{path}' does not hold a key: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes the key's base64 and a newline to a new file created with mode 0600, so the key is never
    /// readable by anyone else, not even for a moment. An existing file is replaced only when
    /// <paramref name="overwrite"/> is set (keys are not to be lost by accident).
    /// </summary>
    /// <exception cref="KeyFileException">The file exists (and <paramref name="overwrite"/> is false) or cannot be written.</exception>
    public static void WritePrivateKey(string path, StaticKeyPair key, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            if (File.Exists(path))
            {
                if (!overwrite)
                {
                    throw new KeyFileException(path, $"Private key file '{path}' already exists; not overwriting a key.");
                }

                // Delete and recreate, so the new file is born 0600 whatever the old one's mode was.
                File.Delete(path);
            }

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = PrivateMode;
            }

            using (var stream = new FileStream(path, options))
            {
                var line = Encoding.ASCII.GetBytes(key.PrivateKeyToBase64() + "\n");
                stream.Write(line);
            }

            if (!OperatingSystem.IsWindows())
            {
                // The umask can only remove bits, but set it explicitly in case the process's umask is odd.
                File.SetUnixFileMode(path, PrivateMode);
            }
        }
        catch (IOException e) when (e is not KeyFileException)
        {
            throw new KeyFileException(path, $"Private key file '{path}' could not be written: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new KeyFileException(path, $"Private key file '{path}' could not be written: {e.Message}", e);
        }
    }

    private static string FormatMode(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);
}

/// <summary>A key file that is missing, unsafe or malformed. The message names the file and says what to do.</summary>
public sealed class KeyFileException : IOException
{
    public KeyFileException()
    {
        Path = string.Empty;
    }

    public KeyFileException(string message)
        : base(message)
    {
        Path = string.Empty;
    }

    public KeyFileException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
    }

    public KeyFileException(string path, string message)
        : base(message)
    {
        Path = path;
    }

    public KeyFileException(string path, string message, Exception innerException)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <summary>The file concerned.</summary>
    public string Path { get; }
}
