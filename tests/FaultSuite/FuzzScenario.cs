using IotOta.TestSupport.Device;
using IotOta.Shared.Chunking;
using System.Diagnostics;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Platform;

namespace IotOta.FaultSuite;

/// <summary>
/// Feeds mutated and random messages to every parser on the device: through the real DeviceAgent (manifest, data
/// packets, member lists on the first network; copies and repair requests on the second, with random connection
/// ids) and straight into the decoders (Manifest, DataPacket, MemberListUpdate, RepairRequest, Presence,
/// ProgressReport, ReceiptNotice, BootRecord). A decoder may only throw ProtocolException (a counted rejection); the
/// agent may throw nothing. Also tracked: the slowest input (a hang shows there) and the most bytes one input allocated.
/// </summary>
public sealed class FuzzScenario
{
    private readonly Random _rng;
    private readonly string _dir;
    private readonly EcdsaSignatureVerifier _verifier = new();
    private readonly byte[][] _seeds;
    private readonly byte[] _buf = new byte[16 * 1024];

    public long Inputs;
    public long Crashes;
    public long DecoderRejections;
    public long AgentRejections;
    public double MaxInputMs;
    public long MaxInputAllocBytes;
    public readonly List<string> Problems = new();

    // reusable decoders
    private readonly DataPacket _dp = new();
    private readonly MemberListUpdate _ml = new();
    private readonly RepairRequest _rr = new();
    private readonly Presence _pr = new();
    private readonly ProgressReport _pg = new();
    private readonly ReceiptNotice _rn = new();

    public FuzzScenario(int seed, string dir)
    {
        _rng = new Random(seed);
        _dir = dir;
        _verifier.Add(Keys.TrustedId, Keys.Trusted);
        var bytes = new byte[8 * 1024 + 77];
        _rng.NextBytes(bytes);
        Image = SignedImage.Create(bytes, new FirmwareVersion(3, 0, 0), Keys.Trusted, Keys.TrustedId, 512, 0x7777);
        var members = new MemberListUpdate { GroupId = 1, Epoch = 5, Count = 3 };
        members.EnsureCapacity(3);
        for (int i = 0; i < 3; i++) { members.NodeIds[i] = (uint)(i + 1); members.Ips[i] = 0x0100007F; members.Ports[i] = 20001 + i; }
        var held = new byte[PacketBitmap.ByteLength(Image.ChunkCount)];
        held[0] = 0x0F;
        var repair = new RepairRequest { NodeId = 2, ImageId = Image.ImageId, ChunkCount = Image.ChunkCount, MaxReplies = 4, MissingBuffer = held, MissingOffset = 0 };
        var repairBytes = new byte[RepairRequest.EncodedLength(Image.ChunkCount)];
        repair.Encode(repairBytes, 0);
        var presence = new Presence { NodeId = 2, GroupId = 1, Online = true, Ip = 0x0100007F, Port = 20002, RunningVersion = new FirmwareVersion(1, 0, 0), State = DeviceState.Receiving };
        var progress = new ProgressReport { NodeId = 2, ImageId = Image.ImageId, State = DeviceState.Receiving, RunningVersion = new FirmwareVersion(1, 0, 0), ChunkCount = Image.ChunkCount, HeldCount = 4, BitmapBuffer = held, BitmapOffset = 0 };
        var progressBytes = new byte[ProgressReport.EncodedLength(Image.ChunkCount)];
        progress.Encode(progressBytes, 0);
        var notice = new ReceiptNotice { NodeId = 2, ImageId = Image.ImageId, Index = 3, Kind = ReceiptNotice.KindOriginal, ReceiveTimeMs = 1, ForwardedTimeMs = 2, CopiesSent = 3 };
        var noticeBytes = new byte[ReceiptNotice.EncodedLength];
        notice.Encode(noticeBytes, 0);
        var boot = new BootRecord { Sequence = 3, ActiveSlot = 1, State = BootState.Trial, Version = new FirmwareVersion(3, 0, 0), ImageId = 0x7777 };
        var bootBytes = new byte[BootRecord.EncodedLength];
        boot.Encode(bootBytes, 0);
        _seeds = new[]
        {
            Image.ManifestBytes,
            Image.Packet(MessageType.Original, 1, 0, 0, new uint[] { 9 }, new uint[] { 0x0100007F }, new[] { 20009 }),
            Image.Packet(MessageType.Copy, 2, 2),
            Image.Packet(MessageType.Copy, 3, 3, DataPacket.FlagRelay),
            members.ToBytes(),
            repairBytes,
            presence.ToBytes(),
            progressBytes,
            noticeBytes,
            bootBytes,
        };
    }

    public SignedImage Image { get; }

    public void Run(long inputs)
    {
        string path = Path.Combine(_dir, "fuzz.bin");
        if (File.Exists(path)) File.Delete(path);
        using var layout = new VirtualFlashLayout(path, 64 * 1024, 16 * 1024);
        var clock = new ManualClock();
        using var hash = new DotNetHashPort();
        var cfg = new DeviceConfig { NodeId = 1, GroupId = 1, PeerIp = 0x0100007F, PeerPort = 20001 };
        DeviceAgent agent = NewAgent(cfg, layout, clock, hash);
        var sw = new Stopwatch();
        string topicIn = Topics.DeviceIn(1);
        for (long n = 0; n < inputs; n++)
        {
            int len = Mutate(out int seedIndex);
            Inputs++;
            long alloc0 = GC.GetAllocatedBytesForCurrentThread();
            sw.Restart();
            // 1. straight into the decoder of what the bytes claim to be (or of the seed's type)
            try
            {
                Decode(seedIndex, len);
            }
            catch (ProtocolException)
            {
                DecoderRejections++;
            }
            catch (Exception e)
            {
                Crash($"decoder for seed {seedIndex}", e, len);
            }
            // 2. through the agent, on the network that message would arrive on
            int rejectedBefore = agent.Counters.MessagesRejected;
            try
            {
                if (seedIndex == 2 || seedIndex == 3 || seedIndex == 5 || (n & 7) == 0)
                    agent.OnPeerMessage((n & 1) == 0 ? 0u : (uint)_rng.Next(1, 200), _buf, 0, len);
                else
                    agent.OnMqttMessage(seedIndex == 0 ? Topics.Manifest : seedIndex == 4 ? Topics.GroupMembers(1) : topicIn, _buf, 0, len);
                if ((n & 63) == 0) { while (agent.PumpOnce()) { } clock.Advance(50); agent.Tick(); }
            }
            catch (Exception e)
            {
                Crash($"agent for seed {seedIndex}", e, len);
            }
            if (agent.Counters.MessagesRejected > rejectedBefore) AgentRejections++;
            sw.Stop();
            double ms = sw.Elapsed.TotalMilliseconds;
            if (ms > MaxInputMs) MaxInputMs = ms;
            long alloc = GC.GetAllocatedBytesForCurrentThread() - alloc0;
            if (alloc > MaxInputAllocBytes) MaxInputAllocBytes = alloc;
            if (agent.IsStopped || agent.State == DeviceState.Failed)
            {
                // a valid image could (in theory) complete, or flash could fail: start a fresh device
                agent = NewAgent(cfg, layout, clock, hash);
            }
        }
    }

    private DeviceAgent NewAgent(DeviceConfig cfg, VirtualFlashLayout layout, ManualClock clock, DotNetHashPort hash)
    {
        var agent = new DeviceAgent(cfg, layout, new MemoryMqtt(), new MemoryPeers(), clock, hash, _verifier, new RestartFlag(), null!);
        agent.Start();
        agent.OnConnected();
        byte[] m = _seeds[4];
        agent.OnMqttMessage(Topics.GroupMembers(1), m, 0, m.Length);
        agent.OnMqttMessage(Topics.Manifest, Image.ManifestBytes, 0, Image.ManifestBytes.Length);
        return agent;
    }

    private void Crash(string where, Exception e, int len)
    {
        Crashes++;
        if (Problems.Count < 20) Problems.Add($"{where}: {e.GetType().Name}: {e.Message} (input {Convert.ToHexString(_buf, 0, Math.Min(len, 64))}...)");
    }

    private void Decode(int seedIndex, int len)
    {
        MessageType t = WireHeader.Peek(_buf, 0, len);
        int kind = t == 0 ? seedIndex : (int)t;
        switch (seedIndex == 9 ? -1 : kind)
        {
            case -1: BootRecord.TryDecode(_buf, 0); break;
            case 1: Manifest.Decode(_buf, 0, len); break;
            case 2: case 3: _dp.Parse(_buf, 0, len); break;
            case 4: _rn.Parse(_buf, 0, len); break;
            case 5: _pg.Parse(_buf, 0, len); break;
            case 6: _ml.Parse(_buf, 0, len); break;
            case 7: _rr.Parse(_buf, 0, len); break;
            case 8: _pr.Parse(_buf, 0, len); break;
            default: _dp.Parse(_buf, 0, len); break;
        }
    }

    /// <summary>Writes one fuzz input into _buf and returns its length.</summary>
    private int Mutate(out int seedIndex)
    {
        seedIndex = _rng.Next(_seeds.Length);
        byte[] s = _seeds[seedIndex];
        int len = s.Length;
        Array.Copy(s, _buf, len);
        int mode = _rng.Next(10);
        switch (mode)
        {
            case 0: // random bytes behind a valid header
                len = _rng.Next(4, 700);
                _rng.NextBytes(_buf.AsSpan(4, len - 4));
                break;
            case 1: // pure noise
                len = _rng.Next(0, 300);
                _rng.NextBytes(_buf.AsSpan(0, len));
                break;
            case 2: // truncated
                len = _rng.Next(0, len);
                break;
            case 3: // extended
            {
                int extra = _rng.Next(1, 64);
                _rng.NextBytes(_buf.AsSpan(len, extra));
                len += extra;
                break;
            }
            case 4: // an extreme value in a 1/2/4-byte field
            {
                int at = _rng.Next(len);
                int w = Math.Min(1 << _rng.Next(3), len - at);
                byte v = _rng.Next(3) switch { 0 => (byte)0xFF, 1 => (byte)0x00, _ => (byte)0x80 };
                for (int k = 0; k < w; k++) _buf[at + k] = v;
                break;
            }
            case 5: // the message type changed
                if (len > 3) _buf[3] = (byte)_rng.Next(0, 12);
                break;
            default: // a few bit flips / byte changes, mostly in the first 64 bytes where the fields are
            {
                int flips = 1 + _rng.Next(4);
                for (int k = 0; k < flips && len > 0; k++)
                {
                    int at = _rng.Next(3) == 0 ? _rng.Next(len) : _rng.Next(Math.Min(len, 64));
                    if (_rng.Next(2) == 0) _buf[at] ^= (byte)(1 << _rng.Next(8));
                    else _buf[at] = (byte)_rng.Next(256);
                }
                break;
            }
        }
        return len;
    }
}
