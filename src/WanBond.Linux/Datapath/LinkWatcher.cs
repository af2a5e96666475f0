using System.Net;
using Microsoft.Extensions.Logging;
using WanBond.Linux.Network;

namespace WanBond.Linux.Datapath;

/// <summary>
/// Polls every link's interface four times a second and keeps the rest in step: re-creates a link's
/// socket when its interface (re)appears, re-points the link's routing table when its gateway changes,
/// and tells the engine when a link can or cannot carry traffic — all without a restart.
/// </summary>
public sealed class LinkWatcher : IDisposable
{
    private readonly IReadOnlyList<(string Interface, IPAddress? Gateway)> _links;
    private readonly LinkSocket[] _sockets;
    private readonly RouterNetwork _network;
    private readonly RouterEngine _engine;
    private readonly bool _ipv6;
    private readonly ILogger _log;
    private readonly LinkProbe _probe = new();
    private readonly LinkObservation[] _last;
    private readonly bool[] _routed;
    private readonly (string? Address, IPAddress? Gateway)[] _learned;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;

    public LinkWatcher(IReadOnlyList<(string Interface, IPAddress? Gateway)> links, LinkSocket[] sockets, RouterNetwork network, RouterEngine engine, bool ipv6, ILogger log)
    {
        _links = links;
        _sockets = sockets;
        _network = network;
        _engine = engine;
        _ipv6 = ipv6;
        _log = log;
        _last = new LinkObservation[links.Count];
        _routed = new bool[links.Count];
        _learned = new (string?, IPAddress?)[links.Count];
    }

    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Takes a first look synchronously (so the engine starts with the truth), then polls on a thread.</summary>
    public void Start()
    {
        Poll(initial: true);
        _thread = new Thread(Run) { IsBackground = true, Name = "link watcher" };
        _thread.Start();
    }

    private void Run()
    {
        while (!_stop.Token.WaitHandle.WaitOne(Interval))
        {
            try
            {
                Poll(initial: false);
            }
            catch (Exception e)
            {
                _log.LogWarning("link watcher: {Error}", e.Message);
            }
        }
    }

    private void Poll(bool initial)
    {
        var now = _probe.ObserveAll(_links, _ipv6);
        for (var i = 0; i < now.Length; i++)
        {
            var before = _last[i];
            var o = now[i];
            if (o.Gateway is not null)
            {
                _learned[i] = (o.Address, o.Gateway);
            }
            else if (o.Present && o.Address is not null && _learned[i].Address == o.Address)
            {
                // The interface bounced (down/up drops its routes) but kept its address: its gateway is still the one
                // it had, until a DHCP client says otherwise.
                o = o with { Gateway = _learned[i].Gateway };
            }
            if (!initial && o == before)
            {
                continue;
            }
            var name = _links[i].Interface;
            if (!o.Present)
            {
                _sockets[i].Close();
                _routed[i] = false;
            }
            else if (_sockets[i].Descriptor is null || before is null || before.IfIndex != o.IfIndex)
            {
                try
                {
                    _sockets[i].Reopen();
                    if (!initial)
                    {
                        _network.KeepAcceptingRouterAdvertisements(name); // a re-created interface starts from the defaults
                    }
                }
                catch (Exception e)
                {
                    _log.LogWarning("link {Link}: cannot open its socket: {Error}", name, e.Message);
                    o = o with { Up = false };
                }
            }
            var usable = o.Usable && _sockets[i].Descriptor is not null;
            if (usable && (!_routed[i] || before is null || before.Gateway?.Equals(o.Gateway) == false || (before.Gateway is null) != (o.Gateway is null) || before.IfIndex != o.IfIndex || !before.Usable))
            {
                try
                {
                    _network.SetLinkRoute(i, name, o.Gateway);
                    _routed[i] = true;
                }
                catch (Exception e)
                {
                    _log.LogWarning("link {Link}: cannot route through it: {Error}", name, e.Message);
                    usable = false;
                    _routed[i] = false;
                    o = o with { Up = false };
                }
            }
            _last[i] = o;
            if (initial || before is null || before.Usable != usable || before.Describe() != o.Describe())
            {
                _log.LogInformation("link {Link}: {State} ({Detail})", name, usable ? "up" : "down", o.Describe());
            }
            _engine.SetLinkUp(i, usable, o.Address);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join(TimeSpan.FromSeconds(2));
        _stop.Dispose();
    }
}
