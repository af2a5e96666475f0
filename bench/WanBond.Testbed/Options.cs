using System.Globalization;

namespace WanBond.Testbed;

/// <summary>
/// <c>--name value</c> options and <c>--flag</c> switches of one subcommand. Every option must be
/// known; values are parsed where they are read so the error names the option.
/// </summary>
internal sealed class Options
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public Options(IReadOnlyList<string> args, IReadOnlyCollection<string> valued, IReadOnlyCollection<string> flags)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (flags.Contains(a))
            {
                _flags.Add(a);
                continue;
            }
            if (!valued.Contains(a))
            {
                throw new UsageException($"unknown option '{a}' (known: {string.Join(' ', valued.Concat(flags).Order())})");
            }
            if (i + 1 >= args.Count)
            {
                throw new UsageException($"{a}: expected a value");
            }
            if (!_values.TryGetValue(a, out var list))
            {
                _values[a] = list = [];
            }
            list.Add(args[++i]);
        }
    }

    public bool Flag(string name) => _flags.Contains(name);

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var l) ? l : [];

    public string? String(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;

    public string Required(string name) => String(name) ?? throw new UsageException($"{name} is required");

    public double Double(string name, double fallback, double min, double max)
    {
        string? s = String(name);
        if (s is null)
        {
            return fallback;
        }
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < min || v > max)
        {
            throw new UsageException($"{name}: expected a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], got '{s}'");
        }
        return v;
    }

    public long Long(string name, long fallback, long min, long max)
    {
        string? s = String(name);
        if (s is null)
        {
            return fallback;
        }
        if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) || v < min || v > max)
        {
            throw new UsageException($"{name}: expected a whole number in [{min}, {max}], got '{s}'");
        }
        return v;
    }

    public List<string> List(string name, string fallback, IReadOnlyCollection<string> allowed)
    {
        var items = (String(name) ?? fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        foreach (var item in items)
        {
            if (!allowed.Contains(item))
            {
                throw new UsageException($"{name}: '{item}' is not one of {string.Join(", ", allowed)}");
            }
        }
        if (items.Count == 0)
        {
            throw new UsageException($"{name}: expected at least one of {string.Join(", ", allowed)}");
        }
        return items;
    }
}
