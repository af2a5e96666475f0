using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using WanBond.Core.Wire;
using WanBond.Linux.Control;

namespace WanBond.Linux.Tests;

/// <summary>The handshake and hostile-input counters of `wanbond status`: how drops are classed, and that text and JSON show them.</summary>
public sealed class SecurityStatusTests
{
    [Fact]
    public void Drop_reasons_land_in_their_class()
    {
        var counters = new DropCounters();
        foreach (var (reason, n) in new[]
        {
            (DropReason.AuthenticationFailed, 3), (DropReason.Duplicate, 5), (DropReason.UnknownSession, 7),
            (DropReason.Truncated, 1), (DropReason.BadVersion, 1), (DropReason.UnknownType, 1), (DropReason.BadLength, 1),
            (DropReason.BadInnerPacket, 1), (DropReason.BadPath, 1), (DropReason.TooManyBlocks, 1), (DropReason.TooManyRanges, 1), (DropReason.BadRange, 1),
        })
        {
            for (var i = 0; i < n; i++)
            {
                counters.Increment(reason);
            }
        }
        var d = new DropStatus { DisallowedSource = 2 };
        d.Add(counters);
        Assert.Equal((3, 5, 7, 9, 2), (d.AuthFailed, d.Replay, d.UnknownSession, d.Malformed, d.DisallowedSource));
        Assert.Equal(counters.Total + 2, d.Total);
        var sum = new SecurityStatus { HandshakesCompleted = 1, Dropped = d }.Plus(new SecurityStatus { HandshakesCompleted = 2, CookiesSent = 4, Dropped = new DropStatus { Replay = 1 } });
        Assert.Equal((3L, 4L, 6L), (sum.HandshakesCompleted, sum.CookiesSent, sum.Dropped.Replay));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Status_shows_the_security_counters_as_text_and_json()
    {
        if (!File.Exists(NamespaceTestbed.CliDll))
        {
            Assert.Fail($"the wanbond CLI is not built ({NamespaceTestbed.CliDll})");
        }
        var dir = Directory.CreateTempSubdirectory("wanbond-status-").FullName;
        try
        {
            var report = new StatusReport
            {
                Role = "proxy",
                Tunnel = "wb0",
                Unencrypted = false,
                Security = new SecurityStatus
                {
                    HandshakesCompleted = 11,
                    HandshakesFailed = 12,
                    UnknownPeer = 13,
                    CookiesSent = 14,
                    RateLimited = 15,
                    Dropped = new DropStatus { AuthFailed = 21, Replay = 22, UnknownSession = 23, Malformed = 24, DisallowedSource = 25 },
                },
            };
            var socket = Path.Combine(dir, "run", "proxy.sock");
            await using var server = new ControlServer(socket, () => report, NullLogger.Instance);
            server.Start();

            var (code, text, error) = NamespaceTestbed.TryRunTimed(TimeSpan.FromSeconds(30), "dotnet", NamespaceTestbed.CliDll, "status", "--socket", socket);
            Assert.True(code == 0, $"wanbond status exited {code}: {error}");
            Assert.Contains("handshakes: 11 completed, 12 failed, 13 from unknown keys; cookies sent 14, rate-limited 15", text, StringComparison.Ordinal);
            Assert.Contains("dropped: 21 auth failed, 22 replayed, 23 unknown session, 24 malformed, 25 disallowed source", text, StringComparison.Ordinal);

            (code, var json, error) = NamespaceTestbed.TryRunTimed(TimeSpan.FromSeconds(30), "dotnet", NamespaceTestbed.CliDll, "status", "--json", "--socket", socket);
            Assert.True(code == 0, $"wanbond status --json exited {code}: {error}");
            using var doc = JsonDocument.Parse(json);
            var security = doc.RootElement.GetProperty("security");
            Assert.Equal(11, security.GetProperty("handshakes_completed").GetInt64());
            Assert.Equal(12, security.GetProperty("handshakes_failed").GetInt64());
            Assert.Equal(14, security.GetProperty("cookies_sent").GetInt64());
            Assert.Equal(15, security.GetProperty("rate_limited").GetInt64());
            var dropped = security.GetProperty("dropped");
            Assert.Equal(21, dropped.GetProperty("auth_failed").GetInt64());
            Assert.Equal(22, dropped.GetProperty("replay").GetInt64());
            Assert.Equal(23, dropped.GetProperty("unknown_session").GetInt64());
            Assert.Equal(24, dropped.GetProperty("malformed").GetInt64());
            Assert.Equal(25, dropped.GetProperty("disallowed_source").GetInt64());
            Assert.Equal(115, dropped.GetProperty("total").GetInt64());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
