using System.Globalization;
using WanBond.Testbed.Emulation;
using WanBond.Testbed.Topology;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace WanBond.Testbed.Bench;

/// <summary>A named set of emulated links (bench/scenarios/*.yml, or --link on the command line).</summary>
internal sealed record Scenario(string Name, IReadOnlyList<EmulatedLink> Links)
{
    private sealed class FileModel
    {
        public string? Name { get; set; }

        public List<LinkModel>? Links { get; set; }
    }

    private sealed class LinkModel
    {
        public string? Trace { get; set; }

        public string? Up { get; set; }

        public string? Down { get; set; }

        public double? DelayMs { get; set; }

        public double? QueueMs { get; set; }

        public long? QueueBytes { get; set; }

        public double? Loss { get; set; }
    }

    /// <summary>Reads a scenario file; trace paths are relative to the file, or bundled trace names.</summary>
    public static Scenario Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"scenario {path}: cannot read: {e.Message}", e);
        }
        FileModel model;
        try
        {
            model = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<FileModel>(text)
                ?? throw new UsageException($"scenario {path}: empty");
        }
        catch (YamlException e)
        {
            throw new UsageException($"scenario {path} line {e.Start.Line}: {e.InnerException?.Message ?? e.Message}", e);
        }
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        string name = model.Name ?? Path.GetFileNameWithoutExtension(path);
        if (model.Links is not { Count: > 0 })
        {
            throw new UsageException($"scenario {path}: 'links' must list at least one link");
        }
        var links = new List<EmulatedLink>();
        for (int i = 0; i < model.Links.Count; i++)
        {
            var l = model.Links[i];
            string where = $"scenario {path}, link {i + 1}";
            string up, down;
            if (l.Trace is not null)
            {
                if (l.Up is not null || l.Down is not null)
                {
                    throw new UsageException($"{where}: give 'trace' (a pair) or 'up' and 'down', not both");
                }
                (up, down) = (ResolveTrace(l.Trace + ".up", dir, where), ResolveTrace(l.Trace + ".down", dir, where));
            }
            else if (l.Up is not null && l.Down is not null)
            {
                (up, down) = (ResolveTrace(l.Up, dir, where), ResolveTrace(l.Down, dir, where));
            }
            else
            {
                throw new UsageException($"{where}: expected 'trace: PAIR' or both 'up:' and 'down:'");
            }
            if (l.DelayMs is not { } delay || delay < 0)
            {
                throw new UsageException($"{where}: 'delay_ms' (one-way, ≥ 0) is required");
            }
            if (l.Loss is < 0 or >= 1)
            {
                throw new UsageException($"{where}: 'loss' must be in [0, 1)");
            }
            links.Add(new EmulatedLink(up, down, delay, l.QueueMs ?? 200, l.Loss ?? 0, l.QueueBytes ?? 0));
        }
        return new Scenario(name, links);
    }

    /// <summary>
    /// One ad-hoc link from the command line: <c>PAIR,DELAY_MS[,QUEUE_MS[,LOSS]]</c> where PAIR is a
    /// bundled pair name, a path prefix X (X.up and X.down), or <c>UP+DOWN</c>.
    /// </summary>
    public static EmulatedLink ParseLink(string spec)
    {
        var parts = spec.Split(',');
        if (parts.Length is < 2 or > 4)
        {
            throw new UsageException($"--link '{spec}': expected PAIR,DELAY_MS[,QUEUE_MS[,LOSS]]");
        }
        string where = $"--link '{spec}'";
        string up, down;
        int plus = parts[0].IndexOf('+', StringComparison.Ordinal);
        if (plus > 0)
        {
            (up, down) = (ResolveTrace(parts[0][..plus], ".", where), ResolveTrace(parts[0][(plus + 1)..], ".", where));
        }
        else
        {
            (up, down) = (ResolveTrace(parts[0] + ".up", ".", where), ResolveTrace(parts[0] + ".down", ".", where));
        }
        double Num(int i, string what, double fallback)
        {
            if (parts.Length <= i)
            {
                return fallback;
            }
            return double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0
                ? v
                : throw new UsageException($"{where}: {what} must be a number ≥ 0, got '{parts[i]}'");
        }
        return new EmulatedLink(up, down, Num(1, "DELAY_MS", 0), Num(2, "QUEUE_MS", 200), Num(3, "LOSS", 0));
    }

    private static string ResolveTrace(string spec, string dir, string where)
    {
        if (spec.StartsWith("const:", StringComparison.Ordinal))
        {
            return spec;
        }
        string relative = Path.Combine(dir, spec);
        if (File.Exists(relative))
        {
            return Path.GetFullPath(relative);
        }
        string resolved = TraceSpec.Resolve(spec);
        if (!File.Exists(resolved))
        {
            throw new UsageException($"{where}: trace '{spec}' not found (a path, relative to the scenario file, or a bundled trace name)");
        }
        return Path.GetFullPath(resolved);
    }
}
