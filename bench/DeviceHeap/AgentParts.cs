using IotOta.BoardProfiles;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Receive;
using IotOta.DeviceFirmware.Repair;
using IotOta.DeviceFirmware.Slots;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Platform;

namespace IotOta.DeviceHeap;

/// <summary>--agent-parts BOARD PACKET: what each part the device core's constructor builds allocates on .NET, in the
/// order it builds them, for a board's settings (where the retained heap of "construction" goes).</summary>
internal static class AgentParts
{
    public static void Print(BoardProfile b, int packetSize, string dir)
    {
        string path = Path.Combine(dir, "parts.flash");
        using var flash = new VirtualFlashLayout(path, b.SlotSize, b.UpdateStateSize, b.SinkMode == SinkMode.Sequential ? b.StagingSize : 0);
        var cfg = new DeviceConfig { NodeId = 1, GroupId = 1, MaxChunkSize = packetSize, MaxMembers = b.MaxMembers, ForwardQueueCapacity = b.ForwardQueueCapacity };
        var sink = b.SinkMode == SinkMode.Sequential ? new VirtualSequentialSink(flash) : null;
        long total = 0;
        var counters = Show("DeviceCounters", () => new DeviceCounters(), ref total);
        var log = new DeviceLog(null, 1);
        var life = Show("SlotLifecycle", () => new SlotLifecycle(flash.BootData, cfg.FactoryVersion, counters, log), ref total);
        var packets = Show("PacketStore (sink, staging index)", () => new PacketStore(flash, sink, flash.Staging, packetSize, counters), ref total);
        var rx = Show("ReceivePath", () => new ReceivePath(flash.UpdateState, packets, null!, null!, packetSize, counters), ref total);
        Show("UpdateResume", () => new UpdateResume(rx, life, flash, packetSize, new ManifestSignature(null!, null!), counters, log), ref total);
        var quarantine = Show("PeerQuarantine", () => new PeerQuarantine(cfg.QuarantineStrikes, counters, log), ref total);
        var members = Show("MemberList", () => new MemberList(cfg.MaxMembers), ref total);
        var trees = Show("RelayTreeTable", () => new RelayTreeTable(flash.UpdateState, rx.Store.TreeRegionOffset), ref total);
        var planner = Show("CopyPlanner", () => new CopyPlanner(1), ref total);
        var roots = Show("RootAssembly (v2; its buffers come with the first root)", () => new RootAssembly(null!, null!, rx, packetSize), ref total);
        var forwarder = Show("Forwarder (queues, send buffer, notice batch)", () => new Forwarder(cfg, new object(), planner, members, trees, rx, roots, null!, null!, "t", null!, counters), ref total);
        Show("RepairServer", () => new RepairServer(rx, forwarder, planner, members, quarantine, counters), ref total);
        Show("RepairClient", () => new RepairClient(cfg, members, quarantine, counters), ref total);
        Show("StatusReporter", () => new StatusReporter(cfg, new object(), null!, "t", flash, life, rx), ref total);
        Show("DataPacket", () => new DataPacket(), ref total);
        Show("topic strings (5)", () => new[] { Topics.DeviceOut(1), Topics.DeviceIn(1), Topics.GroupMembers(1), Topics.GroupManifest(1), Topics.GroupTree(1) }, ref total);
        Console.WriteLine($"  total {total} B");
    }

    private static T Show<T>(string what, Func<T> make, ref long total)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        T t = make();
        long n = GC.GetAllocatedBytesForCurrentThread() - a;
        total += n;
        Console.WriteLine($"  {what}: {n} B");
        return t;
    }
}
