using WanBond.Core.Buffers;
using WanBond.Core.Sessions;
using WanBond.Core.Wire;

namespace WanBond.Sim;

/// <summary>
/// The discrete-event simulation of one scenario: a router engine (Initiator) and a proxy
/// engine (Responder) joined by the scenario's links, driven by a workload. Single-threaded
/// and deterministic: events run in (time, scheduling order), randomness comes from seeded
/// <see cref="Rng"/>s, and nothing reads the wall clock.
/// </summary>
public sealed class Simulation
{
    private const int OuterHeaderBytes = 28; // IPv4 + UDP around each tunnel datagram
    private const long RttSampleIntervalUs = 10_000;

    private readonly Scenario _scenario;
    private readonly EventQueue _events = new();
    private readonly PacketPool _pool = new();
    private readonly LinkDirection[] _directions;
    private readonly Endpoint _router;
    private readonly Endpoint _proxy;
    private readonly Workload _workload;
    private readonly long _endUs;
    private readonly SampleList[] _rtt;
    private readonly List<double> _timelineGoodput = [];
    private readonly List<double>[] _timelinePaths;
    private long _lastTimelineGoodput;
    private readonly long[] _lastTimelineCarried;
    private bool _ran;

    public Simulation(Scenario scenario)
    {
        _scenario = scenario;
        _endUs = (long)Math.Round(scenario.DurationS * 1_000_000);
        int n = scenario.Links.Count;
        if (scenario.NoTunnel && n != 1)
        {
            throw new ArgumentException("--no-tunnel needs exactly one link", nameof(scenario));
        }
        _directions = new LinkDirection[2 * n];
        int overhead = scenario.NoTunnel ? 0 : OuterHeaderBytes;
        for (int i = 0; i < n; i++)
        {
            var l = scenario.Links[i];
            var cuts = scenario.Cuts.Where(c => c.Link == i)
                .Select(c => ((long)Math.Round(c.StartS * 1e6), double.IsPositiveInfinity(c.EndS) ? long.MaxValue : (long)Math.Round(c.EndS * 1e6)))
                .ToArray();
            long delayUs = (long)Math.Round(l.DelayMs * 1000);
            _directions[2 * i] = new LinkDirection(2 * i, l.UpTrace, l.RateMbps, delayUs, l.QueueMs, l.Loss, overhead, cuts,
                Rng.For(scenario.Seed, (ulong)(2 * i)), _events, _pool);
            _directions[(2 * i) + 1] = new LinkDirection((2 * i) + 1, l.DownTrace, l.RateMbps, delayUs, l.QueueMs, l.Loss, overhead, cuts,
                Rng.For(scenario.Seed, (ulong)((2 * i) + 1)), _events, _pool);
        }
        Session? routerSession = null;
        Session? proxySession = null;
        if (!scenario.NoTunnel)
        {
            var options = new SessionOptions { PathCount = n, Scheduler = scenario.Scheduler, CongestionControl = scenario.CongestionControl };
            routerSession = new Session(options, new NullSeal(), SessionRole.Initiator, 0x5253_0001, 0);
            proxySession = new Session(options, new NullSeal(), SessionRole.Responder, 0x5053_0002, 0);
        }
        _router = new Endpoint(this, 0, routerSession, Enumerable.Range(0, n).Select(i => _directions[2 * i]).ToArray(), _pool, _events);
        _proxy = new Endpoint(this, 1, proxySession, Enumerable.Range(0, n).Select(i => _directions[(2 * i) + 1]).ToArray(), _pool, _events);
        var workloadRng = Rng.For(scenario.Seed, 1000);
        _workload = scenario.Workload.Kind switch
        {
            WorkloadKind.Bulk => new BulkWorkload(this, scenario.BacklogPackets),
            WorkloadKind.Cbr => new CbrWorkload(this, scenario.Workload.CbrMbps),
            _ => new TcpWorkload(this, scenario.Workload.TcpFlows, workloadRng, scenario.StartJitterMs * 1000L, scenario.HyStart),
        };
        _rtt = Enumerable.Range(0, n).Select(_ => new SampleList()).ToArray();
        _timelinePaths = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        _lastTimelineCarried = new long[n];
    }

    internal Metrics Metrics { get; } = new();

    /// <summary>True when data flows proxy → router.</summary>
    internal bool DataFromProxy => _scenario.Direction == DataDirection.Down;

    internal long TcpSegmentLimit => _scenario.TcpSegmentsPerFlow;

    internal Endpoint DataSender => DataFromProxy ? _proxy : _router;

    internal Endpoint DataReceiver => DataFromProxy ? _router : _proxy;

    /// <summary>Events processed (for the performance check).</summary>
    public long EventCount { get; private set; }

    /// <summary>Pooled packet buffers ever created: stays flat once the run reaches steady state.</summary>
    public int PacketBuffersCreated => _pool.Created;

    internal void Schedule(long timeUs, EventKind kind, int target) => _events.Push(timeUs, kind, target);

    internal void DeliverInner(Endpoint at, ReadOnlySpan<byte> packet, long nowUs, long holdUs)
    {
        if (at == DataReceiver)
        {
            Metrics.ReorderHold.Add(holdUs);
        }
        _workload.OnInner(at, packet, nowUs);
    }

    internal void BeforePoll(Endpoint at, long nowUs)
    {
        if (at == DataSender)
        {
            _workload.BeforePoll(nowUs);
        }
    }

    public static SimResult Run(Scenario scenario) => new Simulation(scenario).Run();

    public SimResult Run()
    {
        if (_ran)
        {
            throw new InvalidOperationException("a Simulation runs once");
        }
        _ran = true;
        _router.Start(0);
        _proxy.Start(0);
        _workload.AfterEvent(0);
        if (!_scenario.NoTunnel)
        {
            _events.Push(RttSampleIntervalUs, EventKind.Sample, 0);
        }
        if (_scenario.TimelineMs > 0)
        {
            _events.Push(_scenario.TimelineMs * 1000L, EventKind.TimelineTick, 0);
        }
        while (_events.Count > 0)
        {
            // Events at exactly the end time still run, so a timeline tick at the end is recorded.
            if (_events.PeekTime > _endUs)
            {
                break;
            }
            var e = _events.Pop();
            long now = e.TimeUs;
            EventCount++;
            switch (e.Kind)
            {
                case EventKind.LinkService:
                    _directions[e.Target].OnService(now);
                    break;
                case EventKind.LinkArrival:
                    (e.Target % 2 == 0 ? _proxy : _router).OnArrival(e.Target / 2, e.Packet!, now);
                    break;
                case EventKind.EngineTimer:
                    (e.Target == 0 ? _router : _proxy).OnTimer(now);
                    break;
                case EventKind.FlowTimer:
                    _workload.OnFlowTimer(e.Target, now);
                    break;
                case EventKind.WorkloadTick:
                    _workload.OnTick(e.Target, now);
                    break;
                case EventKind.Sample:
                    SampleRtt();
                    _events.Push(now + RttSampleIntervalUs, EventKind.Sample, 0);
                    break;
                case EventKind.TimelineTick:
                    RecordTimeline();
                    _events.Push(now + (_scenario.TimelineMs * 1000L), EventKind.TimelineTick, 0);
                    break;
            }
            _workload.AfterEvent(now);
        }
        return BuildResult();
    }

    private LinkDirection DataDirectionOf(int link) => _directions[(2 * link) + (DataFromProxy ? 1 : 0)];

    private void SampleRtt()
    {
        var session = DataSender.Session!;
        for (int i = 0; i < _rtt.Length; i++)
        {
            long rtt = session.GetPathStats(i).LatestRttUs;
            if (rtt > 0)
            {
                _rtt[i].Add(rtt);
            }
        }
    }

    private void RecordTimeline()
    {
        double seconds = _scenario.TimelineMs / 1000.0;
        _timelineGoodput.Add(Mbps(Metrics.GoodputBytes - _lastTimelineGoodput, seconds));
        _lastTimelineGoodput = Metrics.GoodputBytes;
        for (int i = 0; i < _timelinePaths.Length; i++)
        {
            long carried = DataDirectionOf(i).CarriedBytes;
            _timelinePaths[i].Add(Mbps(carried - _lastTimelineCarried[i], seconds));
            _lastTimelineCarried[i] = carried;
        }
    }

    private static double Mbps(double bytes, double seconds) => bytes * 8 / seconds / 1e6;

    private static double Ratio(double a, double b) => b > 0 ? a / b : double.NaN;

    private SimResult BuildResult()
    {
        double seconds = _endUs / 1e6;
        int n = _scenario.Links.Count;
        double capacityBytes = 0;
        long offeredTotal = 0;
        for (int i = 0; i < n; i++)
        {
            capacityBytes += DataDirectionOf(i).CapacityBytes(_endUs);
            offeredTotal += DataDirectionOf(i).OfferedBytes;
        }
        var paths = new PathResult[n];
        for (int i = 0; i < n; i++)
        {
            var d = DataDirectionOf(i);
            double cap = d.CapacityBytes(_endUs);
            paths[i] = new PathResult(
                i,
                _scenario.Links[i].Describe(),
                Mbps(cap, seconds),
                Mbps(d.CarriedBytes, seconds),
                Ratio(d.CarriedBytes, cap),
                Ratio(d.OfferedBytes, offeredTotal),
                _rtt[i].PercentileMs(0.5),
                _rtt[i].PercentileMs(0.95),
                d.QueueDrops,
                d.LossDrops);
        }
        Timeline? timeline = null;
        if (_scenario.TimelineMs > 0)
        {
            var times = Enumerable.Range(1, _timelineGoodput.Count).Select(k => k * _scenario.TimelineMs / 1000.0).ToArray();
            timeline = new Timeline(_scenario.TimelineMs, times, _timelineGoodput.ToArray(), _timelinePaths.Select(p => p.ToArray()).ToArray());
        }
        double goodput = Mbps(Metrics.GoodputBytes, seconds);
        double capacity = Mbps(capacityBytes, seconds);
        return new SimResult(
            _scenario,
            capacity,
            goodput,
            Ratio(goodput, capacity),
            Metrics.Delay.PercentileMs(0.50),
            Metrics.Delay.PercentileMs(0.95),
            Metrics.Delay.PercentileMs(0.99),
            _scenario.NoTunnel ? double.NaN : Metrics.ReorderHold.PercentileMs(0.95),
            Metrics.InnerRetransmits,
            Metrics.SenderQueueDrops,
            _directions.Sum(d => d.QueueDrops),
            _directions.Sum(d => d.LossDrops),
            Metrics.GoodputPackets,
            paths,
            timeline,
            EngineFigures(),
            Metrics.InnerFastRecoveries,
            Metrics.InnerTimeouts);
    }

    private EngineCounters? EngineFigures()
    {
        var sender = DataSender.Session;
        var receiver = DataReceiver.Session;
        if (sender is null || receiver is null)
        {
            return null;
        }
        long lost = 0, repaired = 0;
        for (int i = 0; i < sender.PathCount; i++)
        {
            var st = sender.GetPathStats(i);
            lost += st.PacketsLost;
            repaired += st.PacketsRepaired;
        }
        return new EngineCounters(sender.SendQueueDrops, receiver.ReorderSkipped, receiver.ReorderSkippedLate, lost, repaired, sender.Drops.Total + receiver.Drops.Total,
            receiver.SendQueueDrops, sender.ReorderSkipped, sender.RepairsWithheld);
    }
}
