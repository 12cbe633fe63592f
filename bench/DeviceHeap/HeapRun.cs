using System.Security.Cryptography;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Ports;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using IotOta.BoardProfiles;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Host.Metering;
using IotOta.VirtualDevice.Platform;

namespace IotOta.DeviceHeap;

/// <summary>Retained and peak core heap of one phase: peak = retained + the largest single call in the phase.</summary>
internal sealed record PhaseHeap(long Retained, long Peak);

internal sealed record HeapResult(string Board, int PacketSize, int ImageSize, int Packets, PhaseHeap Receive, PhaseHeap Install,
    PhaseHeap Boot, double BytesPerPacket, long Budget, bool Installed, string? Error, long NextManifestPeak = 0, long ResumePeak = 0);

/// <summary>
/// One device core on a board profile's flash layout receives one image (bounded reordering: each window of 8
/// packets arrives reversed, as copies from several peers interleave), forwards every packet to 3 members (read back
/// from flash), installs it and boots it. Every call into the core is measured on this thread with
/// GC.GetAllocatedBytesForCurrentThread, minus what the .NET adapters (file-backed flash, sink, hash port) allocated
/// meanwhile. The signature is checked by the core's managed ECDSA verifier (what a board runs), counted as core: its
/// working memory as a transient of the manifest's call (it is dropped when the check returns).
/// Retained = what construction, Start, the member list and the manifest allocated (kept for the whole phase);
/// peak = the highest retained-before + what a single call allocated (see <see cref="PhaseMeter"/>).
/// </summary>
internal static class HeapRun
{
    public const uint NodeId = 1;
    /// <summary>Print where each phase's retained bytes come from.</summary>
    public static bool Detail;
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
        File.Delete(path); // a new board
        using var flash = new VirtualFlashLayout(path, b.SlotSize, b.UpdateStateSize, b.SinkMode == SinkMode.Sequential ? b.StagingSize : 0);
        using var dotnetHash = new DotNetHashPort();
        var hash = new MeteredHash(dotnetHash);
        var layout = new MeteredLayout(flash);
        var verifier = new TransientVerifier(new EcdsaP256Verifier(1, PublicKey));
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
        byte[] bytes3 = (byte[])bytes.Clone();
        bytes3[0] ^= 0xFF; // another image (another id)
        FirmwareImage img3 = FirmwareImage.Create(bytes3, new FirmwareVersion(3, 0, 0), Signer, packetSize, ChunkHashKind.Sha256, null, false);
        byte[] manifest3 = img3.ManifestBytes;
        byte[] members = Members();
        string topicIn = Topics.DeviceIn(NodeId);

        DeviceAgent Create() => new(config, layout, mqtt, peer, clock, hash, verifier, restarts, null,
            b.SinkMode == SinkMode.Sequential ? new MeteredSink(new VirtualSequentialSink(flash)) : null,
            b.SinkMode == SinkMode.Sequential ? new MeteredPartition(flash.Staging!) : null);

        // Receive phase: boot, member list, manifest (all kept but the signature check's scratch), then every packet
        // and the forwarding it causes.
        DeviceAgent agent = null!;
        var receive = new PhaseMeter();
        long created = receive.Keep(() => { agent = Create(); agent.Start(); });
        long connected = receive.Keep(() => agent.OnConnected());
        long memberList = receive.Keep(() => agent.OnMqttMessage(Topics.GroupMembers(1), members, 0, members.Length));
        long accepted = receive.Keep(() => agent.OnMqttMessage(Topics.GroupManifest(1), manifest, 0, manifest.Length));
        long signatureCheck = Measure.Transient;
        if (Detail) Console.WriteLine($"  receive: construction+start {created}, connect {connected}, member list {memberList}, manifest {accepted} kept (manifest {manifest.Length} B), signature check {signatureCheck} (transient), peak so far {receive.Peak}");
        if (agent.State != DeviceState.Receiving) return Fail($"manifest not accepted (state {agent.State})");
        long steady = 0, installCall = -1;
        int steadyPackets = 0;
        for (int k = 0; k < packets.Length && installCall < 0; k++)
        {
            byte[] p = packets[k];
            long perPacket = receive.Pass(() => agent.OnMqttMessage(topicIn, p, 0, p.Length));
            while (true)
            {
                int before = restarts.Count;
                bool did = false;
                long pc = Measure.Call(() => did = agent.PumpOnce());
                if (restarts.Count != before) { installCall = pc; break; }
                if (!did) break;
                perPacket += pc;
                receive.Note(pc);
            }
            if (k % 8 == 7)
            {
                clock.NowMs += 1_000;
                perPacket += receive.Pass(() => agent.Tick());
            }
            if (k >= 16 && installCall < 0) { steady += perPacket; steadyPackets++; }
        }
        if (installCall < 0) return Fail($"not installed: {agent.HeldCount}/{n} packets held");
        PhaseHeap receiveHeap = receive.Result;
        var install = new PhaseHeap(receive.Retained, receive.Retained + installCall);

        // Boot after the install: a new core from what flash holds (it serves the running image to peers), the
        // self-test's confirmation, a progress report and a peer's repair request answered from flash. Then, reported
        // apart (NextManifestPeak): the manifest of the next image arriving at the serving device (its signature
        // checked while all of that is held).
        agent.Stop();
        DeviceAgent next = null!;
        var boot = new PhaseMeter();
        long bootCreated = boot.Keep(() => { next = Create(); next.Start(); });
        long bootMembers = boot.Keep(() => next.OnMqttMessage(Topics.GroupMembers(1), members, 0, members.Length));
        long bootConnect = boot.Pass(() => next.OnConnected());
        if (Detail) Console.WriteLine($"  boot: construction+start {bootCreated}, member list {bootMembers} kept; connect {bootConnect}");
        clock.NowMs += 1_000;
        boot.Pass(() => next.Tick());
        byte[] repair = RepairFor(img.Manifest, 2);
        boot.Pass(() => next.OnPeerMessage(repair, 0, repair.Length));
        while (true)
        {
            bool did = false;
            boot.Pass(() => did = next.PumpOnce());
            if (!did) break;
        }
        bool ok = next.RunningVersion.SameAs(new FirmwareVersion(2, 0, 0)) && next.State == DeviceState.Updated;
        PhaseHeap bootHeap = boot.Result;
        // The worst moment of a serving device: the next image's manifest arrives while the send buffer and everything
        // else are held, and its signature is checked.
        long nextManifest = boot.Keep(() => next.OnMqttMessage(Topics.GroupManifest(1), manifest3, 0, manifest3.Length));
        if (Detail) Console.WriteLine($"  boot: next manifest {nextManifest} kept, signature check {Measure.Transient} (transient), peak {boot.Peak}");
        ok &= next.State == DeviceState.Receiving;
        next.Stop();

        // A restart in the middle of a download: the new core checks the stored manifest's signature and hashes every
        // held packet again (read back and hashed 256 B at a time, through a buffer that exists only during Start).
        agent = Create();
        agent.Start();
        agent.OnMqttMessage(Topics.GroupMembers(1), members, 0, members.Length);
        agent.OnMqttMessage(Topics.GroupManifest(1), manifest3, 0, manifest3.Length);
        byte[][] half = order.Take(n / 2).Select(i => new Packetizer(img3).Original(i, Array.Empty<FleetMember>())).ToArray();
        foreach (byte[] p in half)
        {
            agent.OnMqttMessage(topicIn, p, 0, p.Length);
            while (agent.PumpOnce()) { }
        }
        int heldBefore = agent.HeldCount;
        agent.Stop();
        var resume = new PhaseMeter();
        resume.Keep(() => { agent = Create(); agent.Start(); });
        ok &= agent.HeldCount == heldBefore && agent.State == DeviceState.Receiving;
        if (Detail) Console.WriteLine($"  resume mid-download: {heldBefore} held, start {resume.Retained} kept, peak {resume.Peak}");
        agent.Stop();
        return new HeapResult(b.Name, packetSize, imageSize, n, receiveHeap, install, bootHeap,
            steadyPackets == 0 ? 0 : steady / (double)steadyPackets, b.CoreHeapBudget, ok, ok ? null : $"after the install: {next.State}, running {next.RunningVersion}",
            boot.Peak, resume.Peak);

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
