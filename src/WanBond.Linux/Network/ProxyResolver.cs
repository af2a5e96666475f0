using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace WanBond.Linux.Network;

/// <summary>The proxy's name did not resolve (or resolved to nothing usable); the message says why, in one line.</summary>
public sealed class ProxyResolveException(string message) : Exception(message);

/// <summary>
/// The proxy's address from its name in router.yml. The first answer fixes the address family (IPv4
/// preferred, as before): the links' sockets and policy rules are made for it. Later answers keep the
/// address in use while the name still has it (round-robin DNS does not make the tunnel hop), and
/// otherwise move to the name's first address of that family.
/// </summary>
public sealed class ProxyResolver
{
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _lookup;

    /// <param name="host">The name (or an address literal, which is returned as it is without a lookup).</param>
    /// <param name="lookup">Name → addresses; <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/> by default.</param>
    public ProxyResolver(string host, Func<string, CancellationToken, Task<IPAddress[]>>? lookup = null)
    {
        Host = host;
        _lookup = lookup ?? Dns.GetHostAddressesAsync;
        if (IPAddress.TryParse(host, out var literal))
        {
            Current = literal;
        }
    }

    public string Host { get; }

    /// <summary>True when <see cref="Host"/> is a name, so it needs resolving (now and later).</summary>
    public bool IsName => !IPAddress.TryParse(Host, out _);

    /// <summary>The address in use (null until the first successful resolution).</summary>
    public IPAddress? Current { get; private set; }

    /// <summary>The family fixed by the first answer.</summary>
    public AddressFamily? Family => Current?.AddressFamily;

    /// <summary>
    /// Resolves the name. Returns the address to use and whether it differs from the one before;
    /// throws <see cref="ProxyResolveException"/> when the name does not resolve or has no address of the family
    /// in use (the address in use is then kept).
    /// </summary>
    public async Task<(IPAddress Address, bool Changed)> ResolveAsync(CancellationToken cancel)
    {
        if (!IsName)
        {
            return (Current!, false);
        }
        IPAddress[] all;
        try
        {
            all = await _lookup(Host, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ArgumentException or IOException)
        {
            throw new ProxyResolveException($"cannot resolve the proxy's name '{Host}': {e.Message}");
        }
        var chosen = Choose(all, Current);
        if (chosen is null)
        {
            throw new ProxyResolveException(Current is null
                ? $"the proxy's name '{Host}' has no IPv4 or IPv6 address"
                : $"the proxy's name '{Host}' no longer has an {(Current.AddressFamily == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address (it had {Current}); keeping {Current} (the address family is chosen at start: restart to change it)");
        }
        var changed = Current is not null && !chosen.Equals(Current);
        Current = chosen;
        return (chosen, changed);
    }

    /// <summary>Which of <paramref name="all"/> to use, given the address in use (null: the first resolution).</summary>
    public static IPAddress? Choose(IReadOnlyList<IPAddress> all, IPAddress? current)
    {
        var usable = all.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a)
            .Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            .ToList();
        if (current is not null)
        {
            if (usable.Contains(current))
            {
                return current;
            }
            return usable.FirstOrDefault(a => a.AddressFamily == current.AddressFamily);
        }
        return usable.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? usable.FirstOrDefault();
    }
}

/// <summary>
/// Keeps the proxy's address current while the router runs: resolves the name again every
/// <see cref="Interval"/>, and soon after <see cref="RequestNow"/> (the engine calls it when the proxy has been
/// silent on every link: a VPS that moved to a new address looks exactly like that). A new address goes to
/// <c>onChange</c>; a failed lookup keeps the address in use and logs a warning.
/// </summary>
public sealed class ProxyAddressWatcher : IDisposable
{
    private readonly ProxyResolver _resolver;
    private readonly Action<IPAddress> _onChange;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public ProxyAddressWatcher(ProxyResolver resolver, Action<IPAddress> onChange, ILogger log)
    {
        _resolver = resolver;
        _onChange = onChange;
        _log = log;
    }

    /// <summary>Time between routine lookups.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Least time between two lookups that <see cref="RequestNow"/> asked for.</summary>
    public TimeSpan MinimumGap { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Completed lookups (for tests and logs).</summary>
    public int Lookups => Volatile.Read(ref _lookups);

    private int _lookups;

    public void Start() => _loop = Task.Run(Run);

    /// <summary>Asks for a lookup soon. Cheap and non-blocking: callable from the engine thread.</summary>
    public void RequestNow()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
        {
            // already signalled, or stopping
        }
    }

    private async Task Run()
    {
        var cancel = _stop.Token;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(Interval, cancel).ConfigureAwait(false);
                await ResolveOnce(cancel).ConfigureAwait(false);
                await Task.Delay(MinimumGap, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ResolveOnce(CancellationToken cancel)
    {
        var before = _resolver.Current;
        try
        {
            var (address, changed) = await _resolver.ResolveAsync(cancel).ConfigureAwait(false);
            if (changed)
            {
                _log.LogWarning("the proxy's name {Host} now resolves to {Address} (was {Before}): the tunnel moves there", _resolver.Host, address, before);
                _onChange(address);
            }
            else
            {
                _log.LogDebug("the proxy's name {Host} still resolves to {Address}", _resolver.Host, address);
            }
        }
        catch (ProxyResolveException e)
        {
            _log.LogWarning("{Error}; still using {Address}", e.Message, before);
        }
        finally
        {
            Interlocked.Increment(ref _lookups);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
        _wake.Dispose();
    }
}
