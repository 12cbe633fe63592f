namespace IotOta.Gateway.Fleet;

/// <summary>What a device said about its board in its presence: the update slot's size, the largest chunk it takes,
/// whether its slot is written in order only, and how many packets its staging area holds.</summary>
public sealed record DeviceCapabilities(int SlotSize, int MaxChunkSize, bool SequentialSink, int StagingCapacity);
