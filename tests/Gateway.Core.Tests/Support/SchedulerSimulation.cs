using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Support;

/// <summary>One simulated device: forwards copies one after another at its upload rate (FIFO), relay copies first,
/// then its group's members; sends a receipt notice with its own clock's times when done (a relay that passed the
/// packet to no other group sends none unless it is its first, as the device core does; the notice's receive time is
/// when it began the job).</summary>
internal sealed class SimDevice(uint id, int group, double uploadBytesPerSecond, long clockOffsetMs)
{
    public uint Id { get; } = id;
    public int Group { get; } = group;
    public double UploadBytesPerSecond { get; } = uploadBytesPerSecond;
    public long ClockOffsetMs { get; } = clockOffsetMs;
    public FleetMember Member => new(Id, Group, 0x0A000000u + Id, 5000);
    public bool Online { get; set; } = true;
    /// <summary>Receives and forwards but never sends a notice.</summary>
    public bool Silent { get; set; }
    public long BusyUntilTicks { get; set; }
    public double CopyBytesForwarded { get; set; }
    public int MinimumUnitsReceived { get; set; }
    /// <summary>It had a minimum unit already (its first one always notices).</summary>
    public bool UnitSeen { get; set; }
}

/// <summary>
/// A deterministic discrete-event simulation of the gateway and its fleet around the pure scheduler. Time is a
/// FakeTimeProvider moved from event to event; the gateway calls Plan() every time the clock moves (and on a
/// 10 ms tick). The gateway's upload serialises originals at GatewayUploadBytesPerSecond; links add a fixed
/// latency; a device forwards its copies at its upload rate; its notice travels back with the link latency and is fed
/// to OverheadTable.RegisterNotice and RolloutScheduler.OnNotice, as the rollout engine does. A tree relay copy goes on
/// to the candidates of its group's RelayTree table, as the device core does.
/// </summary>
internal sealed class SchedulerSimulation
{
    private const long TicksPerSecond = TimeSpan.TicksPerSecond;
    private readonly PriorityQueue<Action, (long Ticks, long Seq)> _events = new();
    private long _seq;
    private long _gatewayBusyUntil;

    public SchedulerSimulation(IEnumerable<SimDevice> devices, int chunkCount, int chunkSize, SchedulerOptions options,
        double gatewayUploadBytesPerSecond, double linkLatencySeconds = 0.002)
    {
        Devices = devices.ToDictionary(d => d.Id);
        ChunkCount = chunkCount;
        ChunkSize = chunkSize;
        Options = options;
        GatewayUploadBytesPerSecond = gatewayUploadBytesPerSecond;
        LatencyTicks = (long)Math.Round(linkLatencySeconds * TicksPerSecond);
        Clock = new FakeTimeProvider();
        Overheads = new OverheadTable(Clock);
        Scheduler = new RolloutScheduler(chunkCount, ChunkLength, options, Overheads, Clock);
        Scheduler.UpdateFleet(OnlineMembers());
        if (Scheduler.Forest != null)
        {
            // As a v2 rollout does: the tables go out with the hash list, a while before the first data.
            LearnTables();
            Clock.Advance(RolloutScheduler.TableSettle);
        }
        StartTicks = Clock.GetUtcNow().UtcTicks;
    }

    public Dictionary<uint, SimDevice> Devices { get; }
    public int ChunkCount { get; }
    public int ChunkSize { get; }
    public long ImageBytes => (long)ChunkCount * ChunkSize;
    public SchedulerOptions Options { get; }
    public double GatewayUploadBytesPerSecond { get; }
    public long LatencyTicks { get; }
    public FakeTimeProvider Clock { get; }
    public OverheadTable Overheads { get; }
    public RolloutScheduler Scheduler { get; }
    private long StartTicks { get; }
    public long NowTicks => Clock.GetUtcNow().UtcTicks - StartTicks;
    public double NowSeconds => NowTicks / (double)TicksPerSecond;

    /// <summary>Every order planned, with the time it was planned.</summary>
    public List<(double At, SendOrder Order)> Orders { get; } = new();
    /// <summary>Largest InFlight seen for any device right after a Plan() call.</summary>
    public int MaxInFlightSeen { get; private set; }
    public double? CompletedAt { get; private set; }
    public HashSet<uint> Departed { get; } = new();
    /// <summary>Orders naming a device (as root or relay) after it had left.</summary>
    public List<SendOrder> OrdersToDeparted { get; } = new();
    public int NoticesDelivered { get; private set; }
    /// <summary>Interior tree relays that sent no notice (FlagSilentTree).</summary>
    public int QuietInteriors { get; private set; }
    private static readonly int QuietRelayMaxMs = new IotOta.DeviceFirmware.Agent.DeviceConfig().QuietRelayMaxMs;
    /// <summary>Minimum units received per (group, packet): 1 everywhere when each packet reached each group once.</summary>
    public Dictionary<(int Group, int Index), int> MinimumUnits { get; } = new();
    private Dictionary<int, RelayTree> _tables = new();
    private uint _tablesEpoch = uint.MaxValue;

    public int ChunkLength(int index) => ChunkSize;

    public List<FleetMember> OnlineMembers() => Devices.Values.Where(d => d.Online).OrderBy(d => d.Id).Select(d => d.Member).ToList();

    private void At(long ticks, Action a) => _events.Enqueue(a, (ticks, _seq++));

    /// <summary>The device leaves (its last will): the scheduler gets the new fleet at once.</summary>
    public void Leave(uint node)
    {
        Devices[node].Online = false;
        Departed.Add(node);
        Overheads.ForgetSends(node);
        Scheduler.UpdateFleet(OnlineMembers());
    }

    /// <summary>Runs until every delivery is done or maxSeconds of simulated time passed. before is called at each
    /// simulated time step before planning (to inject departures).</summary>
    public bool Run(double maxSeconds, Action<SchedulerSimulation>? before = null)
    {
        long end = (long)(maxSeconds * TicksPerSecond);
        long tick = TicksPerSecond / 100;
        At(0, () => { });
        while (_events.TryPeek(out _, out var when) && when.Ticks <= end)
        {
            long now = when.Ticks;
            if (now > NowTicks) Clock.Advance(TimeSpan.FromTicks(now - NowTicks));
            while (_events.TryPeek(out _, out var next) && next.Ticks == now) _events.Dequeue()();
            before?.Invoke(this);
            PlanAndSend();
            if (Scheduler.AllDelivered)
            {
                // Silent relays are done at the gateway once their expected finish passed: the devices may still be
                // forwarding. The run ends when they are through.
                while (_events.TryDequeue(out Action? left, out var at))
                {
                    if (at.Ticks > NowTicks) Clock.Advance(TimeSpan.FromTicks(at.Ticks - NowTicks));
                    left();
                }
                CompletedAt = NowSeconds;
                return true;
            }
            if (PeekTicks() > now + tick) At(now + tick, () => { });
        }
        return false;
    }

    private long PeekTicks() => _events.TryPeek(out _, out var p) ? p.Ticks : long.MaxValue;

    private void PlanAndSend()
    {
        long now = NowTicks;
        var orders = Scheduler.Plan();
        if (Scheduler.TreeEpoch != _tablesEpoch) LearnTables();
        foreach (SendOrder o in orders)
        {
            Orders.Add((NowSeconds, o));
            if (Departed.Contains(o.Root.NodeId) || o.Relays.Any(r => Departed.Contains(r.NodeId))) OrdersToDeparted.Add(o);
            Overheads.RegisterSend(o.Root.NodeId, o.Index);
            foreach (var r in o.NoticingRelays) Overheads.RegisterSend(r.NodeId, o.Index); // as RolloutEngine
            _gatewayBusyUntil = Math.Max(_gatewayBusyUntil, now) + (long)Math.Round(ChunkLength(o.Index) / GatewayUploadBytesPerSecond * TicksPerSecond);
            long arrive = _gatewayBusyUntil + LatencyTicks;
            SimDevice root = Devices[o.Root.NodeId];
            var relays = o.Relays.Select(r => Devices[r.NodeId]).ToList();
            bool tree = o.Tree;
            bool silent = o.SilentRelays;
            bool silentTree = o.SilentRelays && o.SilentTree;
            At(arrive, () => Receive(root, o.Index, relays, ReceiptNotice.KindOriginal, tree, silent, silentTree));
        }
        foreach (var l in Scheduler.Loads()) MaxInFlightSeen = Math.Max(MaxInFlightSeen, l.InFlight);
    }

    /// <summary>The devices learn the (re)built tables at once, as from the retained tree topics.</summary>
    private void LearnTables()
    {
        _tables = Scheduler.RelayTables(1).ToDictionary(t => t.GroupId);
        _tablesEpoch = Scheduler.TreeEpoch;
        Scheduler.TablesPublished(_tablesEpoch);
    }

    private long DeviceMs(SimDevice d, long ticks) => d.ClockOffsetMs + ticks / TimeSpan.TicksPerMillisecond;

    /// <summary>A minimum unit reaches the device: it queues forwarding relay copies then its group's copies.</summary>
    private void Receive(SimDevice d, int index, List<SimDevice> relays, byte kind, bool tree, bool silent, bool silentTree = false)
    {
        if (!d.Online) return;
        d.MinimumUnitsReceived++;
        MinimumUnits[(d.Group, index)] = MinimumUnits.GetValueOrDefault((d.Group, index)) + 1;
        bool interior = false;
        if (tree && kind == ReceiptNotice.KindRelay && _tables.TryGetValue(d.Group, out RelayTree? t) && t.RelaysPacket(index))
        {
            relays = Enumerable.Range(0, t.ChildCount).Select(c => Devices[t.CandidateNode[t.SlotFor(c, index)]]).ToList();
            interior = true;
        }
        long now = NowTicks;
        bool first = !d.UnitSeen;
        d.UnitSeen = true;
        int members = Devices.Values.Count(x => x.Online && x.Group == d.Group);
        int copies = relays.Count + members - 1;
        long perCopy = (long)Math.Round(ChunkLength(index) / d.UploadBytesPerSecond * TicksPerSecond);
        long start = Math.Max(now, d.BusyUntilTicks);
        for (int i = 0; i < relays.Count; i++)
        {
            SimDevice relay = relays[i];
            long sent = start + (i + 1) * perCopy;
            At(sent, () =>
            {
                if (d.Online) At(NowTicks + LatencyTicks, () => Receive(relay, index, new List<SimDevice>(), ReceiptNotice.KindRelay, tree, silent, silentTree));
            });
        }
        long done = start + copies * perCopy;
        d.BusyUntilTicks = done;
        var notice = new ReceiptNotice
        {
            NodeId = d.Id, ImageId = 1, Index = index, Kind = kind,
            ReceiveTimeMs = DeviceMs(d, start), ForwardedTimeMs = DeviceMs(d, done), CopiesSent = copies,
        };
        At(done, () =>
        {
            if (!d.Online) return;
            d.CopyBytesForwarded += copies * (double)ChunkLength(index);
            if (d.Silent) return;
            // A relay of an original flagged FlagSilentRelays that passed the packet to no other group sends no
            // notice, unless it was the device's first minimum unit (Forwarder.QueueMinimumUnit).
            if (kind == ReceiptNotice.KindRelay && relays.Count == 0 && !first && silent) return;
            // With FlagSilentTree an interior relay of a tree is silent too, unless its forwarding ended late.
            if (interior && silentTree && !first && (done - now) / TimeSpan.TicksPerMillisecond <= QuietRelayMaxMs)
            {
                QuietInteriors++;
                return;
            }
            At(NowTicks + LatencyTicks, () =>
            {
                NoticesDelivered++;
                Overheads.RegisterNotice(notice, ChunkLength(index));
                Scheduler.OnNotice(notice.NodeId, notice.Index);
            });
        });
    }

    /// <summary>The Kumar–Ross bound for this fleet: the gateway's upload, every device's upload, downloads unlimited
    /// (the simulation does not limit them).</summary>
    public double KumarRossSeconds() => KumarRossBound.Seconds(ImageBytes, GatewayUploadBytesPerSecond,
        Devices.Values.Select(d => d.UploadBytesPerSecond).ToList(), Devices.Values.Select(_ => 1e12).ToList());
}
