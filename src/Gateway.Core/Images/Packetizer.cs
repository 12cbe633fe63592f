using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Images;

/// <summary>Cuts an image into minimum-unit packets: originals (naming their cross-group copy destinations) and the
/// copies the gateway sends when a device asks it for repairs.</summary>
public sealed class Packetizer(FirmwareImage image)
{
    public FirmwareImage Image { get; } = image;

    public int PayloadLength(int index) => Image.Manifest.ChunkLength(index);

    /// <summary>An original naming its relays; with <paramref name="tree"/> it carries FlagTree, so the relays pass
    /// it on down the relay trees; with <paramref name="silentRelays"/> FlagSilentRelays, so the relays send no
    /// notice; with <paramref name="silentTree"/> FlagSilentTree, so the tree's interior relays send none either.</summary>
    public byte[] Original(int index, IReadOnlyList<FleetMember> relays, bool tree = false, bool silentRelays = false, bool silentTree = false)
    {
        if (relays.Count > DataPacket.MaxTargets) throw new ArgumentException($"at most {DataPacket.MaxTargets} copy destinations per original");
        var nodes = relays.Select(r => r.NodeId).ToArray();
        var ips = relays.Select(r => r.Ip).ToArray();
        var ports = relays.Select(r => r.Port).ToArray();
        byte flags = (byte)((tree ? DataPacket.FlagTree : 0) | (silentRelays ? DataPacket.FlagSilentRelays : 0)
            | (silentRelays && silentTree ? DataPacket.FlagSilentTree : 0));
        return Build(MessageType.Original, index, flags, relays.Count, nodes, ips, ports);
    }

    public byte[] RepairCopy(int index) => Build(MessageType.Copy, index, DataPacket.FlagRepair, 0, null, null, null);

    private byte[] Build(MessageType type, int index, byte flags, int targets, uint[]? nodes, uint[]? ips, int[]? ports)
    {
        var m = Image.Manifest;
        if (index < 0 || index >= m.ChunkCount) throw new ArgumentOutOfRangeException(nameof(index));
        int len = m.ChunkLength(index);
        var buf = new byte[DataPacket.EncodedLength(targets, len)];
        var w = new WireWriter(buf);
        DataPacket.Write(w, type, m.ImageId, index, flags, 0, targets, nodes, ips, ports, Image.Bytes, m.ChunkOffset(index), len);
        return buf;
    }
}
