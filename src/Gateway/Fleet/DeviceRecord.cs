using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Fleet;

/// <summary>What the gateway knows about one device (from its presence and progress messages).</summary>
public sealed record DeviceRecord(uint NodeId, int GroupId, uint Ip, int Port, bool Online, FirmwareVersion Version,
    DeviceState State, DateTimeOffset LastSeen, uint ImageId, int HeldCount, int ChunkCount)
{
    public FleetMember AsMember() => new(NodeId, GroupId, Ip, Port);
}
