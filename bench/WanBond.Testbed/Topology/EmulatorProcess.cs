using System.Text.Json;

namespace WanBond.Testbed.Topology;

/// <summary>A running <c>wanbond-testbed emulate</c> inside a modem namespace.</summary>
internal sealed class EmulatorProcess : IDisposable
{
    private readonly BackgroundProcess _process;

    private EmulatorProcess(BackgroundProcess process, string statsPath, EmulatedLink link)
    {
        _process = process;
        StatsPath = statsPath;
        Link = link;
    }

    public string StatsPath { get; }

    public EmulatedLink Link { get; }

    /// <summary>Unix time (s) at which the emulator said it was up: its trace clock started just before.</summary>
    public double StartedUnixS { get; private init; }

    /// <summary>The emulator's JSON summary, after <see cref="Stop"/>.</summary>
    public JsonElement? Summary { get; private set; }

    /// <summary>How to run this very program: its apphost when there is one, else the dll through dotnet.</summary>
    public static string[] SelfCommand()
    {
        string dir = AppContext.BaseDirectory;
        string host = Path.Combine(dir, "wanbond-testbed");
        if (File.Exists(host))
        {
            return [host];
        }
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return [dotnet, Path.Combine(dir, "wanbond-testbed.dll")];
    }

    public static EmulatorProcess Start(Namespaces ns, string modemNs, string ifA, string ifB, EmulatedLink link, string statsPath, double maxSeconds, ulong seed)
    {
        string[] command =
        [
            .. SelfCommand(), "emulate", "--a", ifA, "--b", ifB, .. link.EmulatorArgs(),
            "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--stats", statsPath, "--duration", maxSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        var p = ns.Start(modemNs, command);
        if (!p.WaitForStderrLine(TimeSpan.FromSeconds(20)))
        {
            p.Stop();
            p.Dispose();
            throw new CommandException($"emulator in {modemNs} did not start: {p.Stderr.Trim()} {p.Stdout.Trim()}");
        }
        return new EmulatorProcess(p, statsPath, link) { StartedUnixS = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 };
    }

    /// <summary>Stops it (SIGTERM) and reads its summary.</summary>
    public JsonElement? Stop()
    {
        _process.Stop(TimeSpan.FromSeconds(5));
        string json = _process.Stdout.Trim();
        if (json.Length > 0)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                Summary = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                Summary = null;
            }
        }
        return Summary;
    }

    public string Stderr => _process.Stderr;

    public void Dispose() => _process.Dispose();
}
