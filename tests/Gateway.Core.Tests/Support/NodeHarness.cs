using IotOta.Gateway.Images;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;
using IotOta.TestSupport.Gateway;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Support;

/// <summary>
/// A <see cref="GatewayNode"/> on a <see cref="FakeBrokerPort"/> and a <see cref="FakeTimeProvider"/>: the test plays
/// the devices (presence, receipt notices, progress reports, repair requests go in as the broker would deliver them)
/// and moves the clock (<see cref="PumpUntilAsync"/>). No broker, no sockets, no real waits.
/// </summary>
internal sealed class NodeHarness : IAsyncDisposable
{
    public static readonly FirmwareVersion Old = new(1, 0, 0), New = new(2, 0, 0);

    private NodeHarness(bool keepsRetained = false)
    {
        Broker = new FakeBrokerPort { Retained = keepsRetained ? new IotOta.Gateway.Fleet.RetainedLedger() : null };
        Node = new GatewayNode(Broker, Time);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public FakeBrokerPort Broker { get; }
    public GatewayNode Node { get; }

    /// <param name="keepsRetained">the broker port keeps a retained ledger (the gateway's device catch-up is on)</param>
    public static async Task<NodeHarness> StartAsync(bool keepsRetained = false)
    {
        var h = new NodeHarness(keepsRetained);
        await h.Node.StartAsync(CancellationToken.None);
        return h;
    }

    public static FirmwareImage Image(int size = 4 * 1024, int chunkSize = 1024)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        using var signer = ManifestSigner.Generate();
        return FirmwareImage.Create(bytes, New, signer, chunkSize);
    }

    /// <summary>A device's retained presence (online or its last will).</summary>
    public void Presence(uint node, int group, bool online = true, FirmwareVersion? version = null, DeviceState state = DeviceState.Idle) =>
        Broker.Deliver(Topics.DeviceStatus(node), new Presence
        {
            NodeId = node, GroupId = group, Online = online, Ip = 0x7F000001, Port = 40000 + (int)node,
            RunningVersion = version ?? Old, State = state,
        }.ToBytes());

    /// <summary>Devices 1..n in groups 1..groups round-robin, online on the old version; returns once the destination
    /// list holds them all.</summary>
    public async Task JoinAsync(int n, int groups)
    {
        for (uint i = 1; i <= n; i++) Presence(i, (int)((i - 1) % groups) + 1);
        await PumpUntilAsync(() => Node.Destinations.Members.Count == n);
    }

    public void Notice(uint node, FirmwareImage image, int index) => Deliver(node, new ReceiptNotice
    {
        NodeId = node, ImageId = image.ImageId, Index = index, Kind = ReceiptNotice.KindOriginal, ReceiveTimeMs = 0, ForwardedTimeMs = 5, CopiesSent = 1,
    }.Encode, ReceiptNotice.EncodedLength);

    /// <summary>A progress report: the device holds these packets of the image and is in this state.</summary>
    public void Progress(uint node, FirmwareImage image, DeviceState state, FirmwareVersion version, IEnumerable<int> held)
    {
        var bits = new byte[PacketBitmap.ByteLength(image.ChunkCount)];
        int count = 0;
        foreach (int k in held)
        {
            bits[k >> 3] |= (byte)(1 << (k & 7));
            count++;
        }
        var r = new ProgressReport
        {
            NodeId = node, ImageId = image.ImageId, State = state, RunningVersion = version, ChunkCount = image.ChunkCount, HeldCount = count,
            BitmapBuffer = bits, BitmapOffset = 0,
        };
        Deliver(node, r.Encode, ProgressReport.EncodedLength(image.ChunkCount));
    }

    /// <summary>The device runs the image and confirmed it: the new core announces itself (presence with the new
    /// version, as every boot does) and reports what it holds.</summary>
    public void Updated(uint node, FirmwareImage image)
    {
        if (Node.Registry.Get(node) is { } known) Presence(node, known.GroupId, known.Online, image.Version, DeviceState.Updated);
        Progress(node, image, DeviceState.Updated, image.Version, Enumerable.Range(0, image.ChunkCount));
    }

    /// <summary>A repair request for the missing packets.</summary>
    public void Repair(uint node, FirmwareImage image, IEnumerable<int> missing, int maxReplies = 64)
    {
        var bits = new byte[PacketBitmap.ByteLength(image.ChunkCount)];
        foreach (int k in missing) bits[k >> 3] |= (byte)(1 << (k & 7));
        var r = new RepairRequest { NodeId = node, ImageId = image.ImageId, ChunkCount = image.ChunkCount, MaxReplies = maxReplies, MissingBuffer = bits, MissingOffset = 0 };
        Deliver(node, r.Encode, RepairRequest.EncodedLength(image.ChunkCount));
    }

    private void Deliver(uint node, Func<byte[], int, int> encode, int length)
    {
        var buf = new byte[length];
        int n = encode(buf, 0);
        Broker.Deliver(Topics.DeviceOut(node), buf.AsSpan(0, n).ToArray());
    }

    /// <summary>The originals published so far (parsed), in order.</summary>
    public IReadOnlyList<(uint Root, DataPacket Packet)> Originals() => Packets().Where(p => p.Packet.Type == MessageType.Original).ToList();

    /// <summary>Repair-flagged copies published so far (parsed), in order.</summary>
    public IReadOnlyList<(uint Root, DataPacket Packet)> RepairCopies() =>
        Packets().Where(p => p.Packet.Type == MessageType.Copy && (p.Packet.Flags & DataPacket.FlagRepair) != 0).ToList();

    private IEnumerable<(uint Root, DataPacket Packet)> Packets()
    {
        foreach (var (topic, payload, _, _) in Broker.Published)
        {
            if (!topic.EndsWith("/in", StringComparison.Ordinal) || payload.Length == 0) continue;
            var type = WireHeader.Peek(payload, 0, payload.Length);
            if (type != MessageType.Original && type != MessageType.Copy) continue;
            var p = new DataPacket();
            p.Parse(payload, 0, payload.Length);
            yield return (Topics.NodeIdOf(topic), p);
        }
    }

    /// <summary>Moves the fake clock in steps (20 ms by default) and lets the node's tasks run, until done is true;
    /// fails after maxSteps.</summary>
    public async Task PumpUntilAsync(Func<bool> done, TimeSpan? step = null, int maxSteps = 3000)
    {
        for (int i = 0; i < maxSteps; i++)
        {
            if (done()) return;
            Time.Advance(step ?? TimeSpan.FromMilliseconds(20));
            await Task.Delay(1);
        }
        Assert.True(done(), $"not reached after {maxSteps} steps of the fake clock");
    }

    /// <summary>Moves the fake clock by total in steps, letting the node's tasks run after each.</summary>
    public async Task AdvanceAsync(TimeSpan total, TimeSpan step)
    {
        for (var t = TimeSpan.Zero; t < total; t += step)
        {
            Time.Advance(step);
            await Task.Delay(1);
        }
    }

    public ValueTask DisposeAsync() => Node.DisposeAsync();
}
