using IotOta.TestSupport.Device;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Tests.Fakes;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Platform;

namespace IotOta.DeviceFirmware.Tests.Support;

/// <summary>One device core on a real flash file in a temp dir, with fakes for the networks, clock and restart.
/// <see cref="Reboot"/> starts a new agent on the same flash (what a restart does).</summary>
public sealed class DeviceHarness : IDisposable
{
    public const uint Ip = 0x0100007F;
    public const int SlotSize = 64 * 1024;

    private readonly string _dir;
    private readonly string _flashPath;
    private readonly Action<DeviceConfig>? _configure;
    private readonly bool _sequential;
    private readonly int _stagingSize;
    private readonly bool _canResume;

    /// <param name="sequential">Use a sequential-only sink (<see cref="VirtualSequentialSink"/>) with a staging
    /// partition of <paramref name="stagingSize"/> bytes; <paramref name="canResume"/> false makes the sink start over
    /// after a reboot, as a real In-Field-Update session does.</param>
    public DeviceHarness(uint nodeId = 1, int groupId = 1, Action<DeviceConfig>? configure = null, bool sequential = false,
        int stagingSize = 0, bool canResume = true)
    {
        _sequential = sequential;
        _stagingSize = stagingSize;
        _canResume = canResume;
        NodeId = nodeId;
        GroupId = groupId;
        _configure = configure;
        _dir = Path.Combine(Path.GetTempPath(), "iotota-dft-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
        _flashPath = Path.Combine(_dir, "flash.bin");
        Verifier.Add(TestKeys.TrustedId, TestKeys.Trusted.PublicKey());
        Boot();
    }

    public uint NodeId { get; }
    public int GroupId { get; }
    public VirtualFlashLayout Flash { get; private set; } = null!;
    public FakeMqttPort Mqtt { get; private set; } = null!;
    public FakePeerPort Peer { get; private set; } = null!;
    public ManualClock Clock { get; } = new();
    public RestartRecorder Restarts { get; private set; } = null!;
    public RecordingLog Log { get; private set; } = null!;
    public DotNetHashPort Hash { get; private set; } = null!;
    public EcdsaSignatureVerifier Verifier { get; } = new();
    public DeviceAgent Agent { get; private set; } = null!;
    public DeviceCounters Counters => Agent.Counters;
    /// <summary>The sequential sink of the running agent, or null.</summary>
    public VirtualSequentialSink? Sink { get; private set; }

    public static int PortOf(uint node) => 20000 + (int)node;
    public static FleetMember Member(uint node, int group = 2) => new(node, group, Ip, PortOf(node));
    public static string AddressOf(uint node) => FakePeerPort.Key(Ip, PortOf(node));
    public string OutTopic => Topics.DeviceOut(NodeId);
    public string StatusTopic => Topics.DeviceStatus(NodeId);

    private void Boot(FakeMqttPort? session = null)
    {
        Flash = new VirtualFlashLayout(_flashPath, SlotSize, 16 * 1024, _stagingSize);
        Mqtt = session ?? new FakeMqttPort();
        Peer = new FakePeerPort();
        Restarts = new RestartRecorder();
        Log = new RecordingLog();
        Hash = new DotNetHashPort();
        var cfg = new DeviceConfig { NodeId = NodeId, GroupId = GroupId, PeerIp = Ip, PeerPort = PortOf(NodeId), NoticeHoldMs = 0 };
        _configure?.Invoke(cfg);
        Sink = _sequential ? new VirtualSequentialSink(Flash) { CanResume = _canResume } : null;
        Agent = new DeviceAgent(cfg, Flash, Mqtt, Peer, Clock, Hash, Verifier, Restarts, Log, Sink, Sink == null ? null : Flash.Staging);
        Agent.Start();
    }

    /// <summary>Power-cycles: stops the agent, closes the flash, and boots a new agent from the same flash file.</summary>
    public void Reboot()
    {
        Agent.Stop();
        Flash.Dispose();
        Hash.Dispose();
        Boot();
    }

    /// <summary>Restarts the core only: the MQTT session (and its subscriptions at the broker) outlives it, as the
    /// virtual device's does; the new core is told it is connected.</summary>
    public void RestartKeepingSession()
    {
        var session = Mqtt;
        session.SessionKept = true;
        Agent.Stop();
        Flash.Dispose();
        Hash.Dispose();
        Boot(session);
        Agent.OnConnected();
    }

    public void Mqtt_(byte[] message) => Agent.OnMqttMessage(Topics.DeviceIn(NodeId), message, 0, message.Length);

    public void Manifest(FirmwareImage image) => Manifest(image.ManifestBytes);

    public void Manifest(byte[] manifest) => Agent.OnMqttMessage(Topics.Manifest, manifest, 0, manifest.Length);

    public void Original(FirmwareImage image, int index, params FleetMember[] relays) => Mqtt_(Images.Original(image, index, relays));

    public void FromPeer(byte[] message) => Agent.OnPeerMessage(message, 0, message.Length);

    /// <summary>Publishes the member list of this device's group (every node at Ip:PortOf(node)).</summary>
    public void Members(uint epoch, params uint[] nodes) => GroupMembers(GroupId, epoch, nodes);

    public void GroupMembers(int group, uint epoch, params uint[] nodes) => GroupMembers(group, epoch, 0, nodes);

    /// <summary>Publishes the member list of this device's group with a copy-tree fan-out (0 = full mesh).</summary>
    public void TreeMembers(int fanout, params uint[] nodes) => GroupMembers(GroupId, 1, fanout, nodes);

    private void GroupMembers(int group, uint epoch, int fanout, uint[] nodes)
    {
        var u = new MemberListUpdate { GroupId = group, Epoch = epoch, Count = nodes.Length, Fanout = fanout };
        u.EnsureCapacity(nodes.Length);
        for (int i = 0; i < nodes.Length; i++)
        {
            u.NodeIds[i] = nodes[i];
            u.Ips[i] = Ip;
            u.Ports[i] = PortOf(nodes[i]);
        }
        byte[] b = u.ToBytes();
        Agent.OnMqttMessage(Topics.GroupMembers(group), b, 0, b.Length);
    }

    /// <summary>Pumps until there is nothing left to do; returns the number of pieces of work done.</summary>
    public int PumpAll()
    {
        int n = 0;
        while (Agent.PumpOnce())
        {
            if (++n > 100_000) throw new InvalidOperationException("PumpOnce never ran dry");
        }
        return n;
    }

    public byte[] ReadSlot(int slot, int offset, int count)
    {
        var b = new byte[count];
        Flash.Slot(slot).Read(offset, b, 0, count);
        return b;
    }

    public BootRecord LoadBootRecord() => new BootDataStore(Flash.BootData).Load(Images.V(9, 9, 9));

    /// <summary>Messages published on this device's out topic whose type is <paramref name="type"/>.</summary>
    public List<byte[]> Out(MessageType type)
        => Mqtt.Published.Where(p => p.Topic == OutTopic && p.Bytes.Length >= 4 && p.Bytes[3] == (byte)type).Select(p => p.Bytes).ToList();

    /// <summary>The receipt notices this device sent, out of its CompactNoticeBatches (protocol v2), in order.</summary>
    public List<ReceiptNotice> Notices() => Out(MessageType.CompactNoticeBatch).SelectMany(b =>
    {
        var batch = new NoticeBatch();
        batch.Parse(b, 0, b.Length);
        batch.NodeId = NodeId; // a CompactNoticeBatch: its out topic names it
        return Enumerable.Range(0, batch.Count).Select(i =>
        {
            var n = new ReceiptNotice();
            batch.Get(i, n);
            return n;
        }).ToList();
    }).ToList();

    public void Dispose()
    {
        Agent.Stop();
        Flash.Dispose();
        Hash.Dispose();
        Verifier.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
