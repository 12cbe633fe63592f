using System.Security.Cryptography;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Ports;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Boards;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Host.Metering;
using IotOta.VirtualDevice.Platform;

namespace IotOta.DeviceHeap;

/// <summary>Retained and peak core heap of one phase: peak = retained + the largest single call in the phase.</summary>
internal sealed record PhaseHeap(long Retained, long LargestCall)
{
    public long Peak => Retained + LargestCall;
}

internal sealed record HeapResult(string Board, int PacketSize, int ImageSize, int Packets, PhaseHeap Receive, PhaseHeap Install,
    PhaseHeap Boot, double BytesPerPacket, long Budget, bool Installed, string? Error);

/// <summary>
/// One device core on a board profile's flash layout receives one image (bounded reordering: each window of 8
/// packets arrives reversed, as copies from several peers interleave), forwards every packet to 3 members (read back
/// from flash), installs it and boots it. Every call into the core is measured on this thread with
/// GC.GetAllocatedBytesForCurrentThread, minus what the .NET adapters (file-backed flash, sink, hash port) allocated
/// meanwhile. The signature is checked by the core's managed ECDSA verifier (what a board runs), counted as core.
/// Retained = what construction, Start, the member list and the manifest allocated (kept for the whole phase);
/// largest call = the biggest allocation of any other single call in the phase (garbage when it returns).
/// </summary>
internal static class HeapRun
{
    public const uint NodeId = 1;
    private static readonly ManifestSigner Signer = ManifestSigner.Generate(1);
    private static readonly byte[] PublicKey = ExportKey();

    private static byte[] ExportKey()
    {
        using ECDsa pub = Signer.PublicKey();
        ECParameters p = pub.ExportParameters(false);
        var key = new byte[65];
        key[0] = 0x04;
        p.Q.X!.CopyTo(key, 1);
        p.Q.Y!.CopyTo(key, 33);
        return key;
    }

    public static HeapResult Run(BoardProfile b, int packetSize, int imageSize, string dir)
    {
        string path = Path.Combine(dir, $"{b.Name}-{packetSize}-{imageSize}.flash");
        using var flash = new VirtualFlashLayout(path, b.SlotSize, b.UpdateStateSize, b.SinkMode == SinkMode.Sequential ? b.StagingSize : 0);
        using var dotnetHash = new DotNetHashPort();
        var hash = new MeteredHash(dotnetHash);
        var layout = new MeteredLayout(flash);
        var verifier = new EcdsaP256Verifier(1, PublicKey);
        var mqtt = new NullMqtt();
        var peer = new NullPeer();
        var restarts = new RestartCounter();
        var clock = new BenchClock();
        var config = new DeviceConfig
        {
            NodeId = NodeId, GroupId = 1, PeerIp = 0x0100007F, PeerPort = 20001, MaxChunkSize = packetSize,
            MaxMembers = b.MaxMembers, ForwardQueueCapacity = b.ForwardQueueCapacity,
        };
        byte[] bytes = new byte[imageSize];
        new Random(imageSize ^ packetSize).NextBytes(bytes);
        FirmwareImage img = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), Signer, packetSize, ChunkHashKind.Sha256, null, false);
        var pk = new Packetizer(img);
        int n = img.Manifest.ChunkCount;
        var order = new List<int>();
        for (int w = 0; w < n; w += 8) for (int i = Math.Min(w + 8, n) - 1; i >= w; i--) order.Add(i);
        byte[][] packets = order.Select(i => pk.Original(i, Array.Empty<FleetMember>())).ToArray();
        byte[] manifest = img.ManifestBytes;
        byte[] members = Members();
        string topicIn = Topics.DeviceIn(NodeId);

        DeviceAgent Create() => new(config, layout, mqtt, peer, clock, hash, verifier, restarts, null,
            b.SinkMode == SinkMode.Sequential ? new MeteredSink(new VirtualSequentialSink(flash)) : null,
            b.SinkMode == SinkMode.Sequential ? new MeteredPartition(flash.Staging!) : null);

        // Receive phase: boot, member list, manifest (all kept), then every packet and the forwarding it causes.
        DeviceAgent agent = null!;
        long retained = Measure.Call(() => { agent = Create(); agent.Start(); });
        retained += Measure.Call(() => agent.OnConnected());
        retained += Measure.Call(() => agent.OnMqttMessage(Topics.GroupMembers(1), members, 0, members.Length));
        retained += Measure.Call(() => agent.OnMqttMessage(Topics.GroupManifest(1), manifest, 0, manifest.Length));
        if (agent.State != DeviceState.Receiving) return Fail($"manifest not accepted (state {agent.State})");
        long largest = 0, steady = 0, installCall = -1;
        int steadyPackets = 0;
        for (int k = 0; k < packets.Length && installCall < 0; k++)
        {
            byte[] p = packets[k];
            long c = Measure.Call(() => agent.OnMqttMessage(topicIn, p, 0, p.Length));
            largest = Math.Max(largest, c);
            long perPacket = c;
            while (true)
            {
                int before = restarts.Count;
                bool did = false;
                long pc = Measure.Call(() => did = agent.PumpOnce());
                if (restarts.Count != before) { installCall = pc; break; }
                if (!did) break;
                largest = Math.Max(largest, pc);
                perPacket += pc;
            }
            if (k % 8 == 7)
            {
                clock.NowMs += 1_000;
                long t = Measure.Call(() => agent.Tick());
                largest = Math.Max(largest, t);
                perPacket += t;
            }
            if (k >= 16 && installCall < 0) { steady += perPacket; steadyPackets++; }
        }
        if (installCall < 0) return Fail($"not installed: {agent.HeldCount}/{n} packets held");
        var receive = new PhaseHeap(retained, largest);
        var install = new PhaseHeap(retained, installCall);

        // Boot after the install: a new core from what flash holds (it serves the running image to peers), the
        // self-test's confirmation, a progress report and a peer's repair request answered from flash.
        agent.Stop();
        DeviceAgent next = null!;
        long bootRetained = Measure.Call(() => { next = Create(); next.Start(); });
        long bootLargest = Measure.Call(() => next.OnConnected());
        bootRetained += Measure.Call(() => next.OnMqttMessage(Topics.GroupMembers(1), members, 0, members.Length));
        clock.NowMs += 1_000;
        bootLargest = Math.Max(bootLargest, Measure.Call(() => next.Tick()));
        byte[] repair = RepairFor(img.Manifest, 2);
        bootLargest = Math.Max(bootLargest, Measure.Call(() => next.OnPeerMessage(repair, 0, repair.Length)));
        while (true)
        {
            bool did = false;
            bootLargest = Math.Max(bootLargest, Measure.Call(() => did = next.PumpOnce()));
            if (!did) break;
        }
        bool ok = next.RunningVersion.SameAs(new FirmwareVersion(2, 0, 0)) && next.State == DeviceState.Updated;
        var boot = new PhaseHeap(bootRetained, bootLargest);
        next.Stop();
        return new HeapResult(b.Name, packetSize, imageSize, n, receive, install, boot,
            steadyPackets == 0 ? 0 : steady / (double)steadyPackets, b.CoreHeapBudget, ok, ok ? null : $"after the install: {next.State}, running {next.RunningVersion}");

        HeapResult Fail(string why) => new(b.Name, packetSize, imageSize, n, new PhaseHeap(0, 0), new PhaseHeap(0, 0), new PhaseHeap(0, 0), 0,
            b.CoreHeapBudget, false, why);
    }

    /// <summary>Members 1 (this device), 2, 3 and 4 of group 1.</summary>
    private static byte[] Members()
    {
        var u = new MemberListUpdate { GroupId = 1, Epoch = 1, Count = 4 };
        u.EnsureCapacity(4);
        for (int i = 0; i < 4; i++)
        {
            u.NodeIds[i] = (uint)(i + 1);
            u.Ips[i] = 0x0100007F;
            u.Ports[i] = 20001 + i;
        }
        return u.ToBytes();
    }

    /// <summary>A repair request from member node for the first 8 packets.</summary>
    private static byte[] RepairFor(Manifest m, uint node)
    {
        var held = new IotOta.Shared.Chunking.PacketBitmap(m.ChunkCount);
        var bits = new byte[IotOta.Shared.Chunking.PacketBitmap.ByteLength(m.ChunkCount)];
        for (int i = 8; i < m.ChunkCount; i++) held.Set(i);
        held.WriteMissing(bits, 0); // the complement of what the asking member holds: its first 8 packets are missing
        var r = new RepairRequest { NodeId = node, ImageId = m.ImageId, ChunkCount = m.ChunkCount, MaxReplies = 8, MissingBuffer = bits, MissingOffset = 0 };
        var buf = new byte[RepairRequest.EncodedLength(m.ChunkCount)];
        int len = r.Encode(buf, 0);
        return buf.AsSpan(0, len).ToArray();
    }
}
