using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Copies;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceHeap;

/// <summary>--parts: what the core's fixed parts allocate on .NET, one by one (where the retained heap goes).</summary>
internal static class PartSizes
{
    public static void Print(int maxMembers, int queue, int chunk)
    {
        Show("ForwardQueue(queue, 1)", () => new ForwardQueue(queue, 1));
        Show("ForwardQueue(queue, 8)", () => new ForwardQueue(queue, 8));
        Show("ForwardJob(1)", () => new ForwardJob(1));
        Show("ForwardQueue(16, 1) again", () => new ForwardQueue(16, 1));
        Show("ForwardQueue(4, 1)", () => new ForwardQueue(4, 1));
        Show("ForwardJob(8)", () => new ForwardJob(8));
        Show("RelayTree", () => new RelayTree());
        Show("MemberList(maxMembers)", () => new MemberList(maxMembers));
        Show("DataPacket", () => new DataPacket());
        Show("DeviceCounters", () => new DeviceCounters());
        Show("send buffer", () => new byte[DataPacket.EncodedLength(DataPacket.MaxTargets, chunk)]);
        Show("topic string", () => Topics.DeviceOut(12345));
        Show("ReceiptNotice", () => new ReceiptNotice());
        Show("Presence", () => new Presence());
        Show("ProgressReport", () => new ProgressReport());
        Show("RepairRequest", () => new RepairRequest());
    }

    private static void Show(string what, Func<object> make)
    {
        make();
        long a = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(make());
        Console.WriteLine($"  {what}: {GC.GetAllocatedBytesForCurrentThread() - a} B");
    }
}
