namespace WanBond.Linux.Network;

/// <summary>
/// Kernel settings wanbond changes (IP forwarding), with their previous values saved in /run so that
/// stop — or the next start after a crash — puts back exactly what was there.
/// </summary>
public sealed class SysctlState
{
    private readonly string _stateFile;
    private readonly string _procRoot;

    public SysctlState(string stateFile, string procRoot = "/proc/sys")
    {
        _stateFile = stateFile;
        _procRoot = procRoot;
    }

    /// <summary>Sets <paramref name="key"/> (a path under /proc/sys, e.g. net/ipv4/ip_forward), remembering the old value once.</summary>
    public void Set(string key, string value)
    {
        var path = PathOf(key);
        string old;
        try
        {
            old = File.ReadAllText(path).Trim();
        }
        catch (IOException e)
        {
            throw new NetworkSetupException($"cannot read {path}: {e.Message}");
        }
        if (old == value)
        {
            return;
        }
        var saved = Load();
        if (!saved.ContainsKey(key))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_stateFile)!);
            File.AppendAllText(_stateFile, $"{key}={old}\n");
        }
        try
        {
            File.WriteAllText(path, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NetworkSetupException($"cannot set {key}={value}: {e.Message}");
        }
    }

    /// <summary>Writes back every saved value and forgets them. Safe to call when nothing was saved.</summary>
    public void Restore()
    {
        foreach (var (key, value) in Load())
        {
            try
            {
                File.WriteAllText(PathOf(key), value);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The interface the setting belonged to may be gone; nothing left to restore.
            }
        }
        if (File.Exists(_stateFile))
        {
            File.Delete(_stateFile);
        }
    }

    private Dictionary<string, string> Load()
    {
        var result = new Dictionary<string, string>();
        if (!File.Exists(_stateFile))
        {
            return result;
        }
        foreach (var line in File.ReadAllLines(_stateFile))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                result.TryAdd(line[..eq], line[(eq + 1)..]);
            }
        }
        return result;
    }

    private string PathOf(string key) => Path.Combine(_procRoot, key);
}
