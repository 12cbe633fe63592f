using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Fleet;

/// <summary>What the gateway knows about one device (from its presence and progress messages). Capabilities is null
/// for a device whose presence carried none (an older device): nothing is then known about its slot.</summary>
public sealed record DeviceRecord(uint NodeId, int GroupId, uint Ip, int Port, bool Online, FirmwareVersion Version,
    DeviceState State, DateTimeOffset LastSeen, uint ImageId, int HeldCount, int ChunkCount, DeviceCapabilities? Capabilities = null)
{
    public FleetMember AsMember() => new(NodeId, GroupId, Ip, Port);
}
