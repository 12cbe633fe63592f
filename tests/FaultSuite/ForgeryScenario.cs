using IotOta.TestSupport.Device;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Platform;

namespace IotOta.FaultSuite;

/// <summary>
/// Rollouts to one real device (node 1) in a group with an honest peer H (node 2) and a malicious peer M (node 3).
/// The gateway loses a share of the originals; M keeps injecting corrupted copies, copies that claim to come from H,
/// packets with a wrong length, swapped chunks, corrupted originals, replays of an older image and duplicates of
/// packets already held, and answers repair requests with garbage. H and the gateway answer repair requests
/// honestly. Every injected packet must be rejected (nothing written to flash for it), M must end up quarantined and
/// never be asked for a repair afterwards, and the device must still install the exact image.
/// </summary>
public sealed class ForgeryScenario
{
    private const uint Self = 1, Honest = 2, Mallory = 3;
    private const uint ConnHonest = 102, ConnMallory = 103;
    private const int ImageSize = 16 * 1024 + 300;

    private readonly Random _rng;
    private readonly string _dir;
    private readonly EcdsaSignatureVerifier _verifier = new();

    public int Rollouts;
    public int Completed;
    public long Injected;
    public long Rejected;
    public int MalloryQuarantined;
    public int RepairsAskedOfQuarantined;
    public long QuarantinedDrops;
    public long StalePackets;
    public long BadChunkHashes;
    public readonly List<string> Problems = new();

    public ForgeryScenario(int seed, string dir)
    {
        _rng = new Random(seed);
        _dir = dir;
        _verifier.Add(Keys.TrustedId, Keys.Trusted);
    }

    public void Run(long injections)
    {
        while (Injected < injections) RunRollout();
    }

    private byte[] Members()
    {
        var u = new MemberListUpdate { GroupId = 1, Epoch = 1, Count = 3 };
        u.EnsureCapacity(3);
        for (int i = 0; i < 3; i++)
        {
            u.NodeIds[i] = (uint)(i + 1);
            u.Ips[i] = 0x0100007F;
            u.Ports[i] = 20001 + i;
        }
        return u.ToBytes();
    }

    private void RunRollout()
    {
        Rollouts++;
        string path = Path.Combine(_dir, "forgery.bin");
        if (File.Exists(path)) File.Delete(path);
        var bytes = new byte[ImageSize];
        _rng.NextBytes(bytes);
        var img = SignedImage.Create(bytes, new FirmwareVersion(2, 0, (ushort)Rollouts), Keys.Trusted, Keys.TrustedId, 1024, 0x5000u + (uint)Rollouts * 2);
        var oldBytes = new byte[ImageSize];
        _rng.NextBytes(oldBytes);
        var old = SignedImage.Create(oldBytes, new FirmwareVersion(1, 5, 0), Keys.Trusted, Keys.TrustedId, 1024, 0x5001u + (uint)Rollouts * 2);

        using var layout = new VirtualFlashLayout(path, 64 * 1024, 16 * 1024);
        var clock = new ManualClock();
        var mqtt = new MemoryMqtt();
        var peers = new MemoryPeers();
        var restart = new RestartFlag();
        using var hash = new DotNetHashPort();
        var inbox = new Queue<(int Via, uint Conn, byte[] Bytes, bool Forged)>(); // Via: 0 MQTT, 1 peer
        DeviceAgent? agentRef = null;
        var rq = new RepairRequest();

        void AnswerRepair(byte[] b, int o, int n, int via)
        {
            if (WireHeader.Peek(b, o, n) != MessageType.RepairRequest) return;
            rq.Parse(b, o, n);
            int budget = rq.MaxReplies;
            for (int i = 0; i < img.ChunkCount && budget > 0; i++)
            {
                if (!rq.IsMissing(i)) continue;
                budget--;
                if (via == 3)
                {
                    byte[] bad = img.Packet(MessageType.Copy, i, Mallory, DataPacket.FlagRepair);
                    bad[bad.Length - 1 - _rng.Next(img.Manifest.ChunkLength(i))] ^= 0x40;
                    inbox.Enqueue((1, ConnMallory, bad, true));
                }
                else if (via == 2) inbox.Enqueue((1, ConnHonest, img.Packet(MessageType.Copy, i, Honest, DataPacket.FlagRepair), false));
                else inbox.Enqueue((0, 0, img.Packet(MessageType.Copy, i, 0, DataPacket.FlagRepair), false));
            }
        }

        peers.Handlers[20002] = (b, o, n) => AnswerRepair(b, o, n, 2);
        peers.Handlers[20003] = (b, o, n) =>
        {
            if (WireHeader.Peek(b, o, n) == MessageType.RepairRequest && agentRef!.IsPeerQuarantined(Mallory)) RepairsAskedOfQuarantined++;
            AnswerRepair(b, o, n, 3);
        };
        mqtt.OnPublish = (topic, b, o, n) => AnswerRepair(b, o, n, 0);

        var cfg = new DeviceConfig { NodeId = Self, GroupId = 1, PeerIp = 0x0100007F, PeerPort = 20001, MaxChunkSize = 4096 };
        var agent = new DeviceAgent(cfg, layout, mqtt, peers, clock, hash, _verifier, restart, null!);
        agentRef = agent;
        agent.Start();
        agent.OnConnected();
        byte[] members = Members();
        agent.OnMqttMessage(Topics.GroupMembers(1), members, 0, members.Length);
        agent.OnMqttMessage(Topics.Manifest, img.ManifestBytes, 0, img.ManifestBytes.Length);

        // the gateway's originals (40 % lost), with forged traffic mixed in
        int[] order = Enumerable.Range(0, img.ChunkCount).ToArray();
        _rng.Shuffle(order);
        foreach (int i in order)
        {
            if (_rng.NextDouble() >= 0.4) inbox.Enqueue((0, 0, img.Packet(MessageType.Original, i, 0), false));
            int forged = 1 + _rng.Next(3);
            for (int f = 0; f < forged; f++) inbox.Enqueue(Forge(img, old));
        }
        string topicIn = Topics.DeviceIn(Self);
        var heldList = new List<int>();
        for (int round = 0; round < 400 && restart.Count == 0; round++)
        {
            while (inbox.Count > 0 && restart.Count == 0)
            {
                var (via, conn, b, forgedMsg) = inbox.Dequeue();
                if (b == null)
                {
                    // a replayed duplicate of a packet already written (an older image's packet while none is)
                    b = heldList.Count == 0 ? old.Packet(MessageType.Copy, 0, Mallory)
                        : img.Packet(MessageType.Copy, heldList[_rng.Next(heldList.Count)], Mallory);
                }
                int before = agent.Counters.PacketsWritten;
                if (via == 0) agent.OnMqttMessage(topicIn, b, 0, b.Length);
                else agent.OnPeerMessage(conn, b, 0, b.Length);
                if (forgedMsg)
                {
                    Injected++;
                    if (agent.Counters.PacketsWritten == before) Rejected++;
                    else Problems.Add($"rollout {Rollouts}: a forged packet was written to flash");
                }
                else if (agent.Counters.PacketsWritten > before && WireHeader.Peek(b, 0, b.Length) != MessageType.RepairRequest)
                {
                    heldList.Add((int)(b[8] | (b[9] << 8) | (b[10] << 16) | (b[11] << 24)));
                }
                while (agent.PumpOnce()) { }
            }
            if (restart.Count > 0) break;
            if (round % 3 == 0) inbox.Enqueue(Forge(img, old));
            clock.Advance(400);
            agent.Tick();
        }
        DeviceCounters c = agent.Counters;
        QuarantinedDrops += c.QuarantinedDrops;
        StalePackets += c.StalePackets;
        BadChunkHashes += c.BadChunkHashes;
        if (agent.IsPeerQuarantined(Mallory) || agent.IsConnectionQuarantined(ConnMallory)) MalloryQuarantined++;
        bool ok = restart.Count == 1 && c.Installs == 1 && img.SlotHolds(layout.Slot(1));
        if (ok) Completed++;
        else Problems.Add($"rollout {Rollouts}: did not complete (held {agent.HeldCount}/{img.ChunkCount}, state {agent.State})");
        agent.Stop();
    }

    /// <summary>One forged, corrupted or replayed packet from M (or a corrupted original on the gateway's path).</summary>
    private (int, uint, byte[], bool) Forge(SignedImage img, SignedImage old)
    {
        int i = _rng.Next(img.ChunkCount);
        int len = img.Manifest.ChunkLength(i);
        switch (_rng.Next(7))
        {
            case 0: // corrupted copy
            {
                byte[] b = img.Packet(MessageType.Copy, i, Mallory);
                b[b.Length - 1 - _rng.Next(len)] ^= (byte)(1 << _rng.Next(8));
                return (1, ConnMallory, b, true);
            }
            case 1: // claims to come from H, carries garbage
            {
                byte[] b = img.Packet(MessageType.Copy, i, Honest, DataPacket.FlagRelay);
                _rng.NextBytes(b.AsSpan(b.Length - len, len));
                return (1, ConnMallory, b, true);
            }
            case 2: // corrupted original on the first network
            {
                byte[] b = img.Packet(MessageType.Original, i, 0);
                b[b.Length - 1 - _rng.Next(len)] ^= 0x01;
                return (0, 0, b, true);
            }
            case 3: // replay of an older image's packet (valid for that image)
                return (1, ConnMallory, old.Packet(MessageType.Copy, i, Mallory), true);
            case 4: // replay: a duplicate of a packet the device already holds (chosen when it is delivered)
                return (1, ConnMallory, null!, true);
            case 5: // wrong length: the payload of another chunk length
            {
                var buf = new byte[DataPacket.EncodedLength(0, len - 1)];
                DataPacket.Write(new WireWriter(buf), MessageType.Copy, img.ImageId, i, 0, Mallory, 0, null, null, null, img.Bytes, img.Manifest.ChunkOffset(i), len - 1);
                return (1, ConnMallory, buf, true);
            }
            default: // a real chunk under the wrong index
            {
                int j = (i + 1) % (img.ChunkCount - 1);
                int jl = img.Manifest.ChunkLength(j);
                if (jl != len) j = (i + 2) % (img.ChunkCount - 1);
                var buf = new byte[DataPacket.EncodedLength(0, len)];
                DataPacket.Write(new WireWriter(buf), MessageType.Copy, img.ImageId, i, 0, Mallory, 0, null, null, null, img.Bytes, img.Manifest.ChunkOffset(j), len);
                if (j == i) buf[buf.Length - 1] ^= 0x80;
                return (1, ConnMallory, buf, true);
            }
        }
    }
}
