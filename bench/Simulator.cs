using System.Diagnostics;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Host;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Bench;

/// <summary>
/// Discrete-event simulation of an iotota rollout that drives the real RolloutScheduler, IntermediateSelector and
/// OverheadTable with simulated time (FakeTimeProvider), as tests/Gateway.Tests/Simulation/SchedulerSimulation does,
/// scaled up: no sockets, no device core. The gateway serialises originals at its upload rate and calls Plan() whenever
/// the clock moves (and on a 10 ms tick); a device receives at its download rate, forwards relay copies first (they overtake member copies already
/// queued, as in the device core) and then one copy to each member of its group, one after another at its upload rate, and its receipt notice goes back after
/// the link latency. A relay copy that travels down a relay tree is passed on as the device core does it: to the
/// candidates its group's RelayTree table names for that packet (the tables the scheduler hands the gateway to
/// publish). Loss and churn are not modelled.
/// </summary>
public sealed class Simulator
{
    private const long TicksPerSecond = TimeSpan.TicksPerSecond;
    private readonly PriorityQueue<Action, (long Ticks, long Seq)> _events = new();
    private long _seq;
    private long _gatewayBusyUntil;
    private readonly int _n, _chunks, _chunkSize;
    private readonly double[] _up, _down;
    /// <summary>Per device: it had a minimum unit already (its first one always notices).</summary>
    private readonly bool[] _unitSeen;
    private readonly int[] _groupOf;
    private readonly uint[][] _members;
    private readonly long[] _busyUntil, _relayBusyUntil;
    /// <summary>Per device: the transfers booked on its download link, as (start, end) ticks sorted by start.</summary>
    private readonly List<(long Start, long End)>[] _downBooked;
    private readonly byte[] _have;
    private readonly int[] _count;
    private readonly double[] _finish;
    private readonly double[] _uploaded;
    private readonly long _latency;
    private readonly double _gatewayUp;
    private readonly FakeTimeProvider _clock = new();
    private readonly long _start;
    private readonly OverheadTable _overheads;
    private readonly RolloutScheduler _scheduler;
    private readonly Dictionary<int, RelayTree> _tables = new();
    private long _originals, _notices, _planCalls, _tableBytes;
    private readonly ControlBytesModel _control = new(signedRoot: true);
    private double _planSeconds;

    public Simulator(BenchOptions o)
    {
        _n = o.Devices;
        int groups = o.EffectiveGroups;
        _chunkSize = o.ChunkSize;
        _chunks = (o.ImageSize + o.ChunkSize - 1) / o.ChunkSize;
        var links = DemoRunner.DeviceLinks(RealRunner.DemoOptionsOf(o));
        _up = links.Select(l => l.UpBytesPerSecond).ToArray();
        _unitSeen = new bool[_up.Length];
        _down = links.Select(l => l.DownBytesPerSecond).ToArray();
        Bound = RealRunner.Bound(o, links);
        _groupOf = Enumerable.Range(1, _n).Select(id => VirtualFleet.GroupOf(id, groups)).ToArray();
        _members = Enumerable.Range(1, groups).Select(g => Enumerable.Range(1, _n).Where(id => _groupOf[id - 1] == g).Select(id => (uint)id).ToArray()).ToArray();
        _busyUntil = new long[_n];
        _relayBusyUntil = new long[_n];
        _downBooked = Enumerable.Range(0, _n).Select(_ => new List<(long, long)>()).ToArray();
        _have = new byte[(long)_n * _chunks];
        _count = new int[_n];
        _finish = new double[_n];
        _uploaded = new double[_n];
        _latency = (long)(o.LatencyMs / 1000 * TicksPerSecond);
        _gatewayUp = LinkRate.BytesPerSecond(o.GatewayUpKbps);
        _start = _clock.GetUtcNow().UtcTicks;
        _overheads = new OverheadTable(_clock);
        // The simulated devices copy a minimum unit to every member of their group themselves (full mesh), so the
        // scheduler books root jobs that way too (GroupFanout 0); copy trees inside groups are not simulated.
        _scheduler = new RolloutScheduler(_chunks, ChunkLength, new SchedulerOptions { PriorForwardRate = LinkRate.BytesPerSecond(o.DeviceUpKbps), GroupFanout = 0 }, _overheads, _clock);
        _scheduler.UpdateFleet(Enumerable.Range(1, _n).Select(id => new FleetMember((uint)id, _groupOf[id - 1], 0x0A000000u + (uint)id, 5000)).ToList());
        Groups = groups;
        ImageBytes = o.ImageSize;
        foreach (RelayTree t in _scheduler.RelayTables(1))
        {
            _tables[t.GroupId] = t;
            _tableBytes += t.ToBytes().Length;
        }
        _scheduler.TablesPublished(_scheduler.TreeEpoch); // the devices hold them from the start (retained)
    }

    public double Bound { get; }
    public int Groups { get; }
    public long ImageBytes { get; }
    private int ChunkLength(int k) => k == _chunks - 1 ? (int)(ImageBytes - (long)k * _chunkSize) : _chunkSize;
    private long NowTicks => _clock.GetUtcNow().UtcTicks - _start;
    private void At(long ticks, Action a) => _events.Enqueue(a, (ticks, _seq++));
    private long Ticks(double seconds) => (long)Math.Round(seconds * TicksPerSecond);

    public RunResult Run(double maxSeconds, string scenario)
    {
        var wall = Stopwatch.StartNew();
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        long end = Ticks(maxSeconds), tick = TicksPerSecond / 100;
        At(0, () => { });
        bool delivered = false;
        while (_events.TryPeek(out _, out var when) && when.Ticks <= end)
        {
            long now = when.Ticks;
            if (now > NowTicks) _clock.Advance(TimeSpan.FromTicks(now - NowTicks));
            while (_events.TryPeek(out _, out var next) && next.Ticks == now) _events.Dequeue()();
            if (!delivered)
            {
                PlanAndSend();
                if (_scheduler.AllDelivered) delivered = true; // the copies still under way are already scheduled
                else if (!_events.TryPeek(out _, out var p) || p.Ticks > now + tick) At(now + tick, () => { });
            }
        }
        var times = _finish.Where((_, i) => _count[i] == _chunks).OrderBy(x => x).ToArray();
        var (median, p99) = RunResult.Percentiles(times, _n);
        var up = _uploaded.Select(x => (long)x).OrderBy(x => x).ToArray();
        _control.Pieces(Groups, _chunks, _chunkSize);
        for (int g = 1; g <= Groups; g++)
        {
            _tables.TryGetValue(g, out RelayTree? table);
            _control.Group(g, _members[g - 1].Length, _chunks, table);
            foreach (uint m in _members[g - 1])
                _control.Device(m, g, _members[g - 1].Length, _chunks, table, _finish[m - 1]);
        }
        var traffic = BrokerReport.From(_control.Totals(), null, ImageBytes, _n);
        long gatewayBytes = _originals * _chunkSize;
        return new RunResult
        {
            Strategy = "iotota", Scenario = scenario, Mode = "simulated", Devices = _n, Groups = Groups, Completed = times.Length,
            Seconds = Math.Round(times.Length > 0 ? times[^1] : maxSeconds, 3), MedianSeconds = Math.Round(median, 3), P99Seconds = Math.Round(p99, 3),
            BoundSeconds = Math.Round(Bound, 3), ImageBytes = ImageBytes, GatewayBytes = gatewayBytes,
            BrokerBytes = gatewayBytes, BrokerMessages = _originals + _notices,
            BrokerCounting = "simulated: originals' payload out of the broker (no broker in the simulation); messages = originals + notices",
            BrokerTraffic = traffic,
            DeviceUploadBytes = [up[0], up[up.Length / 2], up[^1]],
            CpuSeconds = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, 2),
            PeakRssBytes = Environment.WorkingSet, TimedOut = times.Length < _n,
            WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1),
            Note = $"{_planCalls} Plan() calls, {_planSeconds:0.0} s in Plan; relay trees: " + (_scheduler.Forest is { } f
                ? $"{f.TreeCount} trees of depth {f.Depth}, {_tables.Count} tables of {_tableBytes} bytes in all (retained, once per rollout)"
                : "none (one original names every group)"),
            CompletionTimes = times,
        };
    }

    private void PlanAndSend()
    {
        long now = NowTicks;
        var sw = Stopwatch.StartNew();
        var orders = _scheduler.Plan();
        _planSeconds += sw.Elapsed.TotalSeconds;
        _planCalls++;
        foreach (SendOrder o in orders)
        {
            _overheads.RegisterSend(o.Root.NodeId, o.Index);
            foreach (var r in o.NoticingRelays) _overheads.RegisterSend(r.NodeId, o.Index); // as RolloutEngine
            _gatewayBusyUntil = Math.Max(_gatewayBusyUntil, now) + Ticks(ChunkLength(o.Index) / _gatewayUp);
            _originals++;
            _control.Original(o.Root.NodeId, o.Relays.Count, ChunkLength(o.Index));
            int root = (int)o.Root.NodeId - 1;
            long arrive = Download(root, _gatewayBusyUntil + _latency, o.Index);
            var relays = o.Relays.Select(r => (int)r.NodeId - 1).ToArray();
            int k = o.Index;
            bool tree = o.Tree;
            bool silent = o.SilentRelays;
            bool silentTree = o.SilentRelays && o.SilentTree;
            At(arrive, () => Receive(root, k, relays, ReceiptNotice.KindOriginal, tree, silent, silentTree));
        }
    }

    /// <summary>When a packet that reaches device d's link at t is in. Copies are booked when their sender queues
    /// them, often well before they go out, so a packet may arrive before transfers booked earlier: it takes the first
    /// gap of the link at or after t that holds its whole transfer time (instead of queueing behind copies that come
    /// later). The link never carries two transfers at once, so it never passes more than its rate: an earlier version
    /// let a packet "fit" where the link was already booked, and a heterogeneous run finished 3 % inside the
    /// Kumar–Ross bound (bench/results/sim-heterogeneous-n100.md, issue #14 item 7).</summary>
    private long Download(int d, long t, int k)
    {
        long transfer = Ticks(ChunkLength(k) / _down[d]);
        var booked = _downBooked[d];
        long now = NowTicks;
        int gone = 0;
        while (gone < booked.Count && booked[gone].End <= now) gone++;
        if (gone > 0) booked.RemoveRange(0, gone);
        long start = t;
        int at = 0;
        for (; at < booked.Count; at++)
        {
            var (s, e) = booked[at];
            if (e <= start) continue;
            if (s >= start + transfer) break;
            start = Math.Max(start, e);
        }
        booked.Insert(at, (start, start + transfer));
        return start + transfer;
    }

    private void Hold(int d, int k, long ticks)
    {
        long i = (long)d * _chunks + k;
        if (_have[i] != 0) return;
        _have[i] = 1;
        _count[d]++;
        _finish[d] = Math.Max(_finish[d], ticks / (double)TicksPerSecond);
    }

    /// <summary>The devices a tree relay copy of packet k goes on to from device d: its group table's candidates.</summary>
    private int[] TreeChildren(int d, int k)
    {
        if (!_tables.TryGetValue(_groupOf[d], out RelayTree? t) || !t.RelaysPacket(k)) return [];
        var children = new int[t.ChildCount];
        for (int c = 0; c < t.ChildCount; c++) children[c] = (int)t.CandidateNode[t.SlotFor(c, k)] - 1;
        return children;
    }

    private static readonly int QuietRelayMaxMs = new IotOta.DeviceFirmware.Agent.DeviceConfig().QuietRelayMaxMs;

    private void Receive(int d, int k, int[] relays, byte kind, bool tree, bool silent, bool silentTree)
    {
        long now = NowTicks;
        Hold(d, k, now);
        if (tree && kind == ReceiptNotice.KindRelay) relays = TreeChildren(d, k);
        bool interior = tree && kind == ReceiptNotice.KindRelay && relays.Length > 0;
        uint[] members = _members[_groupOf[d] - 1];
        int copies = relays.Length + members.Length - 1;
        int len = ChunkLength(k);
        long perCopy = Ticks(len / _up[d]);
        // Relay copies go first: the device core lets a relay job overtake member copies between two copies, so they
        // start at once (behind earlier relay copies only) and push the member work booked so far back by their time.
        // Member copies already booked keep their arrival times (optimistic by at most one relay job's time).
        long relayStart = Math.Max(now, _relayBusyUntil[d]);
        for (int i = 0; i < relays.Length; i++)
        {
            int r = relays[i];
            long arrive = Download(r, relayStart + (i + 1) * perCopy + _latency, k);
            At(arrive, () => Receive(r, k, [], ReceiptNotice.KindRelay, tree, silent, silentTree));
        }
        _relayBusyUntil[d] = relayStart + relays.Length * perCopy;
        long start = Math.Max(now, _busyUntil[d]) + relays.Length * perCopy;
        int c = 0;
        foreach (uint m in members)
        {
            int j = (int)m - 1;
            if (j == d) continue;
            c++;
            Hold(j, k, Download(j, start + c * perCopy + _latency, k));
        }
        long done = start + c * perCopy;
        _busyUntil[d] = done;
        _uploaded[d] += copies * (double)len;
        // A relay of an original flagged FlagSilentRelays that passes the packet to no other group sends no notice,
        // unless it is the device's first minimum unit (Forwarder.QueueMinimumUnit). A notice's receive time is when
        // the device began the job.
        bool first = !_unitSeen[d];
        _unitSeen[d] = true;
        if (kind == ReceiptNotice.KindRelay && relays.Length == 0 && !first && silent) return;
        // With FlagSilentTree an interior tree relay sends none either, unless its forwarding ended late
        // (ForwardJob.NoticeIfLate, DeviceConfig.QuietRelayMaxMs).
        if (interior && silentTree && !first && (done - now) / TimeSpan.TicksPerMillisecond <= QuietRelayMaxMs) return;
        var notice = new ReceiptNotice
        {
            NodeId = (uint)d + 1, ImageId = 1, Index = k, Kind = kind,
            ReceiveTimeMs = (start - relays.Length * perCopy) / TimeSpan.TicksPerMillisecond, ForwardedTimeMs = done / TimeSpan.TicksPerMillisecond, CopiesSent = copies,
        };
        At(done + _latency, () =>
        {
            _notices++;
            _control.Notice(notice.NodeId, done + _latency);
            _overheads.RegisterNotice(notice, len);
            _scheduler.OnNotice(notice.NodeId, notice.Index);
        });
    }
}
