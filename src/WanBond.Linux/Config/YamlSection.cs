using System.Globalization;
using System.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace WanBond.Linux.Config;

/// <summary>
/// A YAML mapping read field by field, so every error names the file, line and dotted field path.
/// Unknown keys are errors (a typo must not silently fall back to a default).
/// </summary>
internal sealed class YamlSection
{
    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _read = [];

    public YamlSection(string file, string path, YamlMappingNode node)
    {
        File = file;
        Path = path;
        _node = node;
    }

    public string File { get; }

    public string Path { get; }

    public long Line => _node.Start.Line;

    public static YamlSection Load(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ConfigException(file, e.Start.Line, "(syntax)", e.InnerException?.Message ?? e.Message);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            throw new ConfigException(file, 0, "(file)", "is empty: expected a YAML mapping of settings");
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigException(file, stream.Documents[0].RootNode.Start.Line, "(file)", "expected a YAML mapping of settings (key: value lines)");
        }
        return new YamlSection(file, "", root);
    }

    public string FieldPath(string key) => Path.Length == 0 ? key : Path + "." + key;

    public ConfigException Error(string key, string problem) => new(File, LineOf(key), FieldPath(key), problem);

    public long LineOf(string key) => Find(key)?.Start.Line ?? Line;

    public bool Has(string key) => Find(key) is not null and not YamlScalarNode { Value: null or "" or "~", Style: ScalarStyle.Plain };

    public YamlNode? Find(string key)
    {
        _read.Add(key);
        foreach (var (k, v) in _node.Children)
        {
            if (k is YamlScalarNode { Value: var name } && name == key)
            {
                return v;
            }
        }
        return null;
    }

    public string? GetString(string key, string? fallback)
    {
        if (!Has(key))
        {
            return fallback;
        }
        if (Find(key) is not YamlScalarNode scalar)
        {
            throw Error(key, "expected a single value, got a list or mapping");
        }
        return scalar.Value;
    }

    public string GetRequiredString(string key, string expected)
    {
        return GetString(key, null) ?? throw Error(key, $"is required: expected {expected}");
    }

    public int GetInt(string key, int fallback, int min, int max)
    {
        var text = GetString(key, null);
        if (text is null)
        {
            return fallback;
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw Error(key, $"expected a whole number from {min} to {max}, got '{text}'");
        }
        return value;
    }

    public bool GetBool(string key, bool fallback)
    {
        var text = GetString(key, null);
        return text switch
        {
            null => fallback,
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw Error(key, $"expected true or false, got '{text}'"),
        };
    }

    public T GetEnum<T>(string key, T fallback, IReadOnlyDictionary<string, T> names)
    {
        var text = GetString(key, null);
        if (text is null)
        {
            return fallback;
        }
        return names.TryGetValue(text, out var value) ? value : throw Error(key, $"expected one of {string.Join(", ", names.Keys)}, got '{text}'");
    }

    public YamlSection? GetSection(string key)
    {
        if (!Has(key))
        {
            return null;
        }
        return Find(key) is YamlMappingNode map ? new YamlSection(File, FieldPath(key), map) : throw Error(key, "expected a mapping (indented key: value lines)");
    }

    /// <summary>A list, or a single value taken as a list of one.</summary>
    public IReadOnlyList<YamlNode> GetList(string key)
    {
        return Find(key) switch
        {
            null => [],
            YamlScalarNode { Value: null or "" or "~" } => [],
            YamlSequenceNode seq => seq.Children.ToList(),
            var single => [single],
        };
    }

    /// <summary>Fails on the first key that no Get call asked for.</summary>
    public void RejectUnknown()
    {
        foreach (var (k, v) in _node.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "?";
            if (!_read.Contains(name))
            {
                throw new ConfigException(File, k.Start.Line, FieldPath(name), $"unknown setting (known here: {string.Join(", ", _read.Order(StringComparer.Ordinal))})");
            }
        }
    }

    public static bool IsInterfaceName(string name) =>
        name.Length is > 0 and < 16 && name != "." && name != ".." && !name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || c > 126 || c < 33);

    public string GetInterfaceName(string key, string? fallback)
    {
        var name = GetString(key, fallback) ?? throw Error(key, "is required: expected an interface name such as usb0");
        if (!IsInterfaceName(name))
        {
            throw Error(key, $"expected an interface name (1 to 15 characters, no '/', ':' or spaces), got '{name}'");
        }
        return name;
    }

    public IpPrefix? GetPrefix(string key, string? fallback, bool ipv6)
    {
        var text = GetString(key, fallback);
        if (text is null)
        {
            return null;
        }
        if (!IpPrefix.TryParse(text, out var prefix) || prefix.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 != ipv6)
        {
            throw Error(key, ipv6 ? $"expected an IPv6 address with prefix length such as fd77::2/64, got '{text}'" : $"expected an IPv4 address with prefix length such as 10.77.0.2/24, got '{text}'");
        }
        return prefix;
    }

    public IPAddress? GetAddress(string key)
    {
        var text = GetString(key, null);
        if (text is null || text == "auto")
        {
            return null;
        }
        return IPAddress.TryParse(text, out var a) ? a : throw Error(key, $"expected an IP address or 'auto', got '{text}'");
    }
}

/// <summary>An address with its prefix length, as `ip addr` takes it (10.77.0.2/24).</summary>
public readonly record struct IpPrefix(IPAddress Address, int Length)
{
    public static bool TryParse(string text, out IpPrefix prefix)
    {
        prefix = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(text[..slash], out var address)
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            return false;
        }
        var max = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        if (length < 1 || length > max)
        {
            return false;
        }
        prefix = new IpPrefix(address, length);
        return true;
    }

    /// <summary>The network part, as a route destination (10.77.0.0/24).</summary>
    public string Network
    {
        get
        {
            var bytes = Address.GetAddressBytes();
            for (var i = 0; i < bytes.Length; i++)
            {
                var bitsHere = Math.Clamp(Length - i * 8, 0, 8);
                bytes[i] &= (byte)(0xFF << (8 - bitsHere));
            }
            return $"{new IPAddress(bytes)}/{Length}";
        }
    }

    public override string ToString() => $"{Address}/{Length}";
}
