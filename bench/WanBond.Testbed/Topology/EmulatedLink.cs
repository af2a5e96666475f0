using System.Globalization;

namespace WanBond.Testbed.Topology;

/// <summary>One emulated link: the trace per direction, one-way delay, queue limit and random loss.</summary>
internal sealed record EmulatedLink(string Up, string Down, double DelayMs, double QueueMs = 200, double Loss = 0, long QueueBytes = 0)
{
    /// <summary>The emulator's arguments for this link, apart from interfaces and stats.</summary>
    public IEnumerable<string> EmulatorArgs()
    {
        yield return "--up";
        yield return Up;
        yield return "--down";
        yield return Down;
        yield return "--delay";
        yield return DelayMs.ToString(CultureInfo.InvariantCulture);
        if (QueueBytes > 0)
        {
            yield return "--queue-bytes";
            yield return QueueBytes.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            yield return "--queue-ms";
            yield return QueueMs.ToString(CultureInfo.InvariantCulture);
        }
        yield return "--loss";
        yield return Loss.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Short label: the trace name without directory and direction suffix, and the delay.</summary>
    public string Label
    {
        get
        {
            string name = Path.GetFileName(Down);
            if (name.EndsWith(".down", StringComparison.Ordinal))
            {
                name = name[..^".down".Length];
            }
            return string.Create(CultureInfo.InvariantCulture, $"{name} {DelayMs}ms");
        }
    }
}
