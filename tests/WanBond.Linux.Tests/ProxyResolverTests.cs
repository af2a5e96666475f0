using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using WanBond.Linux.Network;

namespace WanBond.Linux.Tests;

/// <summary>The proxy's name in router.yml: resolved at start, again while running, and what happens when DNS changes or fails.</summary>
public class ProxyResolverTests
{
    private static readonly IPAddress V4a = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress V4b = IPAddress.Parse("192.0.2.2");
    private static readonly IPAddress V6a = IPAddress.Parse("2001:db8::1");

    /// <summary>A DNS stand-in whose answer the test changes; counts lookups.</summary>
    private sealed class FakeDns
    {
        public IPAddress[]? Answer { get; set; }

        public int Lookups { get; private set; }

        public Task<IPAddress[]> Lookup(string name, CancellationToken cancel)
        {
            Lookups++;
            return Answer is { } a ? Task.FromResult(a) : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
        }
    }

    [Fact]
    public async Task An_address_literal_is_used_as_it_is_without_a_lookup()
    {
        var dns = new FakeDns();
        var r = new ProxyResolver("2001:db8::1", dns.Lookup);
        Assert.False(r.IsName);
        Assert.Equal(V6a, r.Current);
        var (address, changed) = await r.ResolveAsync(CancellationToken.None);
        Assert.Equal(V6a, address);
        Assert.False(changed);
        Assert.Equal(0, dns.Lookups);
    }

    [Fact]
    public async Task The_first_answer_prefers_IPv4_and_fixes_the_family()
    {
        var dns = new FakeDns { Answer = [V6a, V4a] };
        var r = new ProxyResolver("vps.example", dns.Lookup);
        Assert.True(r.IsName);
        Assert.Null(r.Current);
        var (address, changed) = await r.ResolveAsync(CancellationToken.None);
        Assert.Equal(V4a, address);
        Assert.False(changed);
        Assert.Equal(AddressFamily.InterNetwork, r.Family);

        // Only IPv6 now: the links' sockets are IPv4, so the address in use is kept and the message says why.
        dns.Answer = [V6a];
        var e = await Assert.ThrowsAsync<ProxyResolveException>(() => r.ResolveAsync(CancellationToken.None));
        Assert.Contains("no longer has an IPv4 address (it had 192.0.2.1); keeping 192.0.2.1", e.Message, StringComparison.Ordinal);
        Assert.Equal(V4a, r.Current);
    }

    [Fact]
    public async Task The_address_in_use_is_kept_while_the_name_still_has_it_and_moves_when_it_is_gone()
    {
        var dns = new FakeDns { Answer = [V4a] };
        var r = new ProxyResolver("vps.example", dns.Lookup);
        await r.ResolveAsync(CancellationToken.None);

        dns.Answer = [V4b, V4a]; // round-robin order changed: no hop
        Assert.Equal((V4a, false), await r.ResolveAsync(CancellationToken.None));

        dns.Answer = [V6a, V4b]; // the VPS moved
        Assert.Equal((V4b, true), await r.ResolveAsync(CancellationToken.None));
        Assert.Equal(V4b, r.Current);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_one_clear_line_and_keeps_the_address_in_use()
    {
        var dns = new FakeDns();
        var r = new ProxyResolver("vps.example", dns.Lookup);
        var e = await Assert.ThrowsAsync<ProxyResolveException>(() => r.ResolveAsync(CancellationToken.None));
        Assert.StartsWith("cannot resolve the proxy's name 'vps.example': ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(r.Current);

        dns.Answer = [V4a];
        await r.ResolveAsync(CancellationToken.None);
        dns.Answer = null;
        await Assert.ThrowsAsync<ProxyResolveException>(() => r.ResolveAsync(CancellationToken.None));
        Assert.Equal(V4a, r.Current);
    }

    [Fact]
    public async Task The_watcher_resolves_again_when_asked_and_reports_a_new_address_once()
    {
        var dns = new FakeDns { Answer = [V4a] };
        var r = new ProxyResolver("vps.example", dns.Lookup);
        await r.ResolveAsync(CancellationToken.None);
        var log = new ListLogger();
        var moved = new List<IPAddress>();
        using var watcher = new ProxyAddressWatcher(r, a => { lock (moved) { moved.Add(a); } }, log)
        {
            Interval = TimeSpan.FromHours(1), // only RequestNow can cause a lookup in this test
            MinimumGap = TimeSpan.FromMilliseconds(10),
        };
        watcher.Start();

        dns.Answer = null; // DNS down: a warning, the address stays
        watcher.RequestNow();
        await WaitUntil(() => watcher.Lookups >= 1);
        Assert.Contains(log.Lines, l => l.Contains("cannot resolve the proxy's name 'vps.example'", StringComparison.Ordinal) && l.Contains("still using 192.0.2.1", StringComparison.Ordinal));
        Assert.Empty(moved);

        dns.Answer = [V4b];
        watcher.RequestNow();
        await WaitUntil(() => watcher.Lookups >= 2);
        watcher.RequestNow();
        await WaitUntil(() => watcher.Lookups >= 3);
        lock (moved)
        {
            Assert.Equal([V4b], moved);
        }
        Assert.Contains(log.Lines, l => l.Contains("now resolves to 192.0.2.2 (was 192.0.2.1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_watcher_also_resolves_on_its_own_every_interval()
    {
        var dns = new FakeDns { Answer = [V4a] };
        var r = new ProxyResolver("vps.example", dns.Lookup);
        await r.ResolveAsync(CancellationToken.None);
        using var watcher = new ProxyAddressWatcher(r, _ => { }, new ListLogger()) { Interval = TimeSpan.FromMilliseconds(50), MinimumGap = TimeSpan.FromMilliseconds(1) };
        watcher.Start();
        await WaitUntil(() => watcher.Lookups >= 3);
        Assert.True(dns.Lookups >= 4);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(10);
        }
    }

    internal sealed class ListLogger : ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }
}
