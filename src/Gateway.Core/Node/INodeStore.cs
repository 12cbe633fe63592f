using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Node;

/// <summary>Where the node writes what it learns from the fleet, so that a node started on the same store after a
/// restart knows each device and what it held (src/Gateway.Persistence implements it on SQLite and PostgreSQL).</summary>
public interface INodeStore
{
    void SaveDevice(DeviceRecord device);
    /// <summary>The device's held-packet bitmap of the image (everything it reported so far).</summary>
    void SaveProgress(uint node, uint imageId, int chunkCount, byte[] bitmap);
    /// <summary>Every stored bitmap of the image, by node.</summary>
    IReadOnlyDictionary<uint, byte[]> LoadProgress(uint imageId);
}
