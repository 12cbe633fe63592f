namespace IotOta.Gateway.Fleet;

/// <summary>What a device said about its board in its presence: the update slot's size, the largest chunk it takes,
/// whether its slot is written in order only, and how many packets its staging area holds; and, when its presence
/// carried the peer-budget tail, how many members its member list can name and how many peer connections it may hold
/// (0 = no limit). Null budget fields: the device did not say (an older presence).</summary>
public sealed record DeviceCapabilities(int SlotSize, int MaxChunkSize, bool SequentialSink, int StagingCapacity,
    int? MaxMembers = null, int? MaxPeerConnections = null);
