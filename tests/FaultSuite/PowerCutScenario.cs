using IotOta.TestSupport.Device;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Platform;

namespace IotOta.FaultSuite;

/// <summary>
/// Device lifetimes with power cuts. Each device starts from a fresh flash with the factory image (1.0.0) in slot A,
/// gets the signed manifest of 2.0.0 and the packets in a random order (with duplicates), and loses power at a random
/// flash operation of a randomly chosen kind: slot erase, slot (chunk) write, bitmap persistence, update-state
/// header/manifest/erase, or boot-record switch. The torn flash stays; the device boots again from it (the real
/// DeviceAgent, FileFlash, DotNetHashPort, EcdsaSignatureVerifier) until it runs the new image confirmed. At every
/// power-up the boot record and the active slot are checked: a device is bricked when it has no valid boot record or
/// its active slot does not hold the image the record names.
/// </summary>
public sealed class PowerCutScenario
{
    public const int ImageSize = 64 * 1024;
    public static readonly string[] Categories = { "slotErase", "slotWrite", "bitmap", "updateState", "bootRecord" };
    // Rough number of operations of each kind in one device's update (the cut is placed uniformly among them).
    private static readonly int[] Spread = { 18, 24, 24, 5, 6 };
    private static readonly int[] ChunkSizes = { 4096, 1024, 8192, 6144, 2048 };

    private readonly Random _rng;
    private readonly string _dir;
    private readonly SignedImage[] _images;
    private readonly byte[] _factory;
    private readonly EcdsaSignatureVerifier _verifier = new();
    private readonly byte[] _readBack = new byte[ImageSize];

    public long[] CutsByCategory = new long[Categories.Length];
    public int PowerCuts;
    public int Devices;
    public int Bricked;
    public int CorruptBoots;
    public int FinishedNew;
    public int Lifetimes;
    public int Resumed;
    public int RestartedFromScratch;
    public long PacketsLostToCuts;
    public int ResumeSectorsCleaned;
    public int ResumeHeldInvalid;
    public readonly List<string> Problems = new();

    public PowerCutScenario(int seed, string dir)
    {
        _rng = new Random(seed);
        _dir = dir;
        _verifier.Add(Keys.TrustedId, Keys.Trusted);
        _factory = new byte[ImageSize];
        _rng.NextBytes(_factory);
        _images = new SignedImage[ChunkSizes.Length];
        for (int i = 0; i < ChunkSizes.Length; i++)
        {
            var bytes = new byte[ImageSize - 100 * i]; // also a short last chunk
            _rng.NextBytes(bytes);
            _images[i] = SignedImage.Create(bytes, new FirmwareVersion(2, 0, 0), Keys.Trusted, Keys.TrustedId, ChunkSizes[i], 0x2000u + (uint)i);
        }
    }

    /// <summary>Runs devices until at least <paramref name="cuts"/> power cuts were injected.</summary>
    public void Run(int cuts)
    {
        while (PowerCuts < cuts) RunDevice(cuts - PowerCuts);
    }

    private static int Classify(FlashOp op)
    {
        switch (op.Partition)
        {
            case "slotA":
            case "slotB":
                return op.Kind == FlashOpKind.Erase ? 0 : 1;
            case "state":
                return op.Kind == FlashOpKind.Write && op.Offset >= 4096 ? 2 : 3;
            case "boot":
                return 4;
            default:
                return -1;
        }
    }

    private void RunDevice(int cutsLeft)
    {
        Devices++;
        string path = Path.Combine(_dir, "device.bin");
        if (File.Exists(path)) File.Delete(path);
        SignedImage img = _images[_rng.Next(_images.Length)];
        using var layout = new VirtualFlashLayout(path, ImageSize, 16 * 1024);
        layout.Slot(0).Write(0, _factory, 0, _factory.Length); // factory programming
        int planned = Math.Min(cutsLeft, 1 + _rng.Next(3));
        int category = -1, nth = -1, seen = 0;
        bool cutNow = false;
        layout.Flash.PowerCut = op =>
        {
            if (category < 0 || Classify(op) != category) return false;
            if (seen++ != nth) return false;
            _lastCategory = category;
            category = -1;
            cutNow = true;
            return true;
        };
        bool everRecord = false;
        bool bricked = false;
        int heldBefore = 0;
        bool afterCut = false;
        var clock = new ManualClock();
        for (int life = 0; life < 40; life++)
        {
            Lifetimes++;
            if (planned > 0 && category < 0)
            {
                category = _rng.Next(Categories.Length);
                nth = _rng.Next(Spread[category]);
                seen = 0;
            }
            if (!CheckBoot(layout, img, ref everRecord)) bricked = true;
            var mqtt = new MemoryMqtt();
            var peers = new MemoryPeers();
            var restart = new RestartFlag();
            using var hash = new DotNetHashPort();
            var cfg = new DeviceConfig { NodeId = 7, GroupId = 1, PeerIp = 0x0100007F, PeerPort = 20007, MaxChunkSize = 8192 };
            var agent = new DeviceAgent(cfg, layout, mqtt, peers, clock, hash, _verifier, restart, null!);
            cutNow = false;
            try
            {
                agent.Start();
                if (afterCut)
                {
                    int now = agent.HeldCount;
                    if (now > 0) Resumed++;
                    if (heldBefore >= 2 && now == 0 && agent.CurrentImageId == img.ImageId) RestartedFromScratch++;
                    if (heldBefore > now && agent.CurrentImageId == img.ImageId) PacketsLostToCuts += heldBefore - now;
                    afterCut = false;
                }
                agent.OnConnected(); // the self-test: reachable, version reported
                if (agent.ActiveSlot == 1 && agent.RunningVersion.SameAs(img.Manifest.Version) && agent.State == DeviceState.Updated)
                {
                    if (planned > 0 && category >= 0) { /* the planned cut never came: fine, the device is done */ }
                    Finish(agent, layout, img, bricked);
                    return;
                }
                agent.OnMqttMessage(Topics.Manifest, img.ManifestBytes, 0, img.ManifestBytes.Length);
                int[] order = Enumerable.Range(0, img.ChunkCount).ToArray();
                _rng.Shuffle(order);
                string topicIn = Topics.DeviceIn(cfg.NodeId);
                foreach (int i in order)
                {
                    byte[] p = img.Packet(MessageType.Original, i, 0);
                    agent.OnMqttMessage(topicIn, p, 0, p.Length);
                    if (_rng.Next(8) == 0) agent.OnMqttMessage(topicIn, p, 0, p.Length); // duplicate
                    while (agent.PumpOnce()) { }
                    clock.Advance(5);
                    agent.Tick();
                    if (restart.Count > 0) break;
                }
                while (restart.Count == 0 && agent.PumpOnce()) { }
                AccumulateCounters(agent);
                if (restart.Count == 0 && agent.State == DeviceState.Failed)
                {
                    Problems.Add($"device {Devices}: failed state without a restart (chunk size {img.Manifest.ChunkSize})");
                    break;
                }
            }
            catch (PowerCutException)
            {
                AccumulateCounters(agent);
                PowerCuts++;
                planned--;
                heldBefore = agent.HeldCount;
                afterCut = true;
                CutsByCategory[_lastCategory]++;
            }
            catch (FlashException e)
            {
                Problems.Add($"device {Devices}: flash rule broken: {e.Message}");
                break;
            }
            finally
            {
                agent.Stop();
            }
            if (!cutNow && restart.Count == 0)
            {
                Problems.Add($"device {Devices}: no progress in life {life} (state {agent.State}, held {agent.HeldCount}/{img.ChunkCount}, image {agent.CurrentImageId:X}, slot {agent.ActiveSlot}, running {agent.RunningVersion}, chunk {img.Manifest.ChunkSize}, refused {agent.Counters.ManifestsRefused}, deferred {agent.Counters.ManifestsDeferred}, last cut {Categories[_lastCategory]})");
                break;
            }
            clock.Advance(1000);
        }
        if (bricked) Bricked++;
        Problems.Add($"device {Devices}: never finished on the new image");
    }

    private int _lastCategory;

    private void AccumulateCounters(DeviceAgent a)
    {
        ResumeSectorsCleaned += a.Counters.ResumeSectorsCleaned;
        ResumeHeldInvalid += a.Counters.ResumeHeldInvalid;
    }

    private void Finish(DeviceAgent agent, VirtualFlashLayout layout, SignedImage img, bool bricked)
    {
        bool ok = img.SlotHolds(layout.Slot(1));
        BootRecord? r = new BootDataStore(layout.BootData).Load(new FirmwareVersion(1, 0, 0));
        if (ok && r != null && r.State == BootState.Confirmed && r.ImageId == img.ImageId && r.ActiveSlot == 1) FinishedNew++;
        else Problems.Add($"device {Devices}: finished but slot/record do not match");
        if (bricked) Bricked++;
    }

    private static BootRecord? ReadRecord(VirtualFlashLayout layout)
    {
        var buf = new byte[BootRecord.EncodedLength];
        BootRecord? best = null;
        for (int s = 0; s < 2; s++)
        {
            layout.BootData.Read(s * layout.BootData.SectorSize, buf, 0, buf.Length);
            BootRecord? r = BootRecord.TryDecode(buf, 0);
            if (r != null && (best == null || r.Sequence > best.Sequence)) best = r;
        }
        return best;
    }

    /// <summary>What the bootloader would find at power-up: false when the device is bricked.</summary>
    private bool CheckBoot(VirtualFlashLayout layout, SignedImage img, ref bool everRecord)
    {
        BootRecord? r = ReadRecord(layout);
        if (r == null)
        {
            if (!everRecord) return true; // factory provisioning not finished yet: the first start writes the record
            Problems.Add($"device {Devices}: no valid boot record");
            return false;
        }
        everRecord = true;
        byte[] expected;
        if (r.ImageId == 0) expected = _factory;
        else if (r.ImageId == img.ImageId) expected = img.Bytes;
        else
        {
            Problems.Add($"device {Devices}: boot record names unknown image {r.ImageId}");
            return false;
        }
        layout.Slot(r.ActiveSlot).Read(0, _readBack, 0, expected.Length);
        if (!_readBack.AsSpan(0, expected.Length).SequenceEqual(expected))
        {
            CorruptBoots++;
            Problems.Add($"device {Devices}: active slot {r.ActiveSlot} does not hold image {r.ImageId} ({r.State})");
            return false;
        }
        return true;
    }
}
