using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Images;

public class PacketizerTests : IDisposable
{
    private readonly ManifestSigner _signer = ManifestSigner.Generate();
    private readonly FirmwareImage _image;
    private readonly Packetizer _p;

    public PacketizerTests()
    {
        _image = FirmwareImage.Create(FirmwareImageTests.Pattern(2500, seed: 4), new FirmwareVersion(2, 0, 0), _signer, chunkSize: 1024, imageId: 0xABCD);
        _p = new Packetizer(_image);
    }

    public void Dispose() => _signer.Dispose();

    private static DataPacket Parse(byte[] b)
    {
        var d = new DataPacket();
        d.Parse(b, 0, b.Length);
        return d;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)] // the short last chunk
    public void OriginalParsesBackWithPayloadAndTargets(int index)
    {
        var relays = new List<FleetMember> { new(11, 1, 0x0A000001, 4000), new(22, 2, 0x0A000002, 65535) };
        var d = Parse(_p.Original(index, relays));
        Assert.True(d.IsOriginal);
        Assert.True(d.IsMinimumUnit);
        Assert.Equal(0xABCDu, d.ImageId);
        Assert.Equal(index, d.Index);
        Assert.Equal(0u, d.SenderNode);
        Assert.Equal(0, d.Flags);
        Assert.Equal(2, d.TargetCount);
        Assert.Equal([11u, 22u], d.TargetNode.Take(2));
        Assert.Equal([0x0A000001u, 0x0A000002u], d.TargetIp.Take(2));
        Assert.Equal([4000, 65535], d.TargetPort.Take(2));
        int off = _image.Manifest.ChunkOffset(index), len = _image.Manifest.ChunkLength(index);
        Assert.Equal(len, _p.PayloadLength(index));
        Assert.Equal(_image.Bytes.AsSpan(off, len).ToArray(), d.PayloadBuffer.AsSpan(d.PayloadOffset, d.PayloadLength).ToArray());
    }

    [Fact]
    public void OriginalWithoutRelaysHasNoTargetsAndLastChunkIsShort()
    {
        byte[] b = _p.Original(2, Array.Empty<FleetMember>());
        Assert.Equal(DataPacket.EncodedLength(0, 2500 - 2048), b.Length);
        var d = Parse(b);
        Assert.Equal(0, d.TargetCount);
        Assert.Equal(452, d.PayloadLength);
    }

    [Fact]
    public void OriginalTakesUpToMaxTargets()
    {
        var eight = Enumerable.Range(1, DataPacket.MaxTargets).Select(i => new FleetMember((uint)i, i, (uint)i, 1000 + i)).ToList();
        var d = Parse(_p.Original(0, eight));
        Assert.Equal(DataPacket.MaxTargets, d.TargetCount);
        Assert.Equal(eight.Select(m => m.NodeId), d.TargetNode);
        var nine = eight.Append(new FleetMember(99, 9, 9, 9)).ToList();
        var e = Assert.Throws<ArgumentException>(() => _p.Original(0, nine));
        Assert.Contains("at most 8", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void IndexOutOfRangeIsRejected(int index)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _p.Original(index, Array.Empty<FleetMember>()));
        Assert.Equal("index", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => _p.RepairCopy(index));
    }

    [Fact]
    public void An_original_asking_for_silent_relays_carries_FlagSilentRelays_and_nothing_else()
    {
        var relays = new List<FleetMember> { new(11, 1, 0x0A000001, 4000) };
        byte[] silent = _p.Original(0, relays, silentRelays: true);
        Assert.Equal(DataPacket.FlagSilentRelays, silent[DataPacket.FlagsOffset]);
        Assert.Equal(0x20, DataPacket.FlagSilentRelays); // bit 5: docs/protocol.md
        Assert.Equal(DataPacket.FlagTree | DataPacket.FlagSilentRelays, Parse(_p.Original(0, relays, tree: true, silentRelays: true)).Flags);
        byte[] plain = _p.Original(0, relays);
        Assert.Equal(0, plain[DataPacket.FlagsOffset]);
        silent[DataPacket.FlagsOffset] = 0;
        Assert.Equal(plain, silent); // the flag is the only difference
    }

    [Fact]
    public void An_original_asking_its_trees_interior_relays_for_silence_carries_FlagSilentTree_only_with_FlagSilentRelays()
    {
        var relays = new List<FleetMember> { new(11, 1, 0x0A000001, 4000) };
        Assert.Equal(0x80, DataPacket.FlagSilentTree); // bit 7: docs/protocol.md
        Assert.Equal(DataPacket.FlagTree | DataPacket.FlagSilentRelays | DataPacket.FlagSilentTree,
            Parse(_p.Original(0, relays, tree: true, silentRelays: true, silentTree: true)).Flags);
        Assert.Equal(DataPacket.FlagTree, Parse(_p.Original(0, relays, tree: true, silentTree: true)).Flags); // no silence asked: none
    }

    [Fact]
    public void RepairCopyIsACopyFlaggedRepairNotARelay()
    {
        var d = Parse(_p.RepairCopy(1));
        Assert.Equal(MessageType.Copy, d.Type);
        Assert.Equal(DataPacket.FlagRepair, d.Flags);
        Assert.False(d.IsRelay);
        Assert.False(d.IsMinimumUnit);
        Assert.Equal(0, d.TargetCount);
        Assert.Equal(_image.Bytes.AsSpan(1024, 1024).ToArray(), d.PayloadBuffer.AsSpan(d.PayloadOffset, d.PayloadLength).ToArray());
    }
}
