using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Network;

namespace IotOta.VirtualDevice.Host;

/// <summary>Many virtual devices in one process: node ids 1..N, spread round-robin over groups 1..G.</summary>
public sealed class VirtualFleet : IAsyncDisposable
{
    private readonly List<VirtualDeviceHost> _devices = new();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, int> _groupOfPort = new();
    private long _retiredPeerBytes;

    private VirtualFleet() { }

    /// <summary>Powers the device at index off (its last will goes out) and, after <paramref name="offFor"/>, on again
    /// from the same flash file with the same options (a reboot that resumes from the persisted state).</summary>
    public async Task RestartDeviceAsync(int index, TimeSpan offFor, CancellationToken ct = default)
    {
        VirtualDeviceHost old = _devices[index];
        await old.DisposeAsync();
        Interlocked.Add(ref _retiredPeerBytes, old.PeerPayloadBytesSent);
        await Task.Delay(offFor, ct);
        var next = new VirtualDeviceHost(old.Options);
        await next.StartAsync(ct);
        _groupOfPort[next.Peer.Port] = next.GroupId;
        _devices[index] = next;
    }

    public IReadOnlyList<VirtualDeviceHost> Devices => _devices;

    public static int GroupOf(int nodeId, int groups) => (nodeId - 1) % groups + 1;

    /// <summary>Starts the fleet; <paramref name="brokerPortFor"/> (device index → port) lets devices reach the broker
    /// through different ports, e.g. one severable proxy per group (the fleet fault suite's partition).
    /// Groups go round-robin from <paramref name="firstNodeId"/> (the fleet's first device is in group 1), or by the
    /// node id itself with <paramref name="groupsByNodeId"/> (<see cref="GroupOf"/>(nodeId, groups)), so that several
    /// fleets holding slices of one node-id range form the same groups as one fleet holding it all.</summary>
    public static async Task<VirtualFleet> StartAsync(int devices, int groups, string brokerHost, int brokerPort, string dataDir,
        ISignatureVerifier verifier, Func<int, LinkProfile>? linkFor = null, FirmwareVersion? factoryVersion = null,
        Action<string>? log = null, CancellationToken ct = default, int firstNodeId = 1, double groupUplinkBytesPerSecond = 0,
        Func<int, BoardProfiles.BoardProfile?>? boardFor = null, Func<VirtualDeviceOptions, VirtualDeviceOptions>? configure = null,
        int slotSize = 4 * 1024 * 1024, Func<int, string?>? groupDataTopic = null, int? coreHeapBudget = null,
        Func<int, int>? brokerPortFor = null, bool groupsByNodeId = false)
    {
        if (devices < 1) throw new ArgumentOutOfRangeException(nameof(devices), "a fleet needs at least one device");
        if (groups < 1 || (groups > devices && !groupsByNodeId)) throw new ArgumentOutOfRangeException(nameof(groups), "groups must be between 1 and the number of devices");
        // Each device's MQTT client runs on the thread pool; keep enough threads ready for a whole fleet.
        ThreadPool.GetMinThreads(out int workers, out int io);
        int want = Math.Min(512, Math.Max(64, devices * 2));
        if (workers < want) ThreadPool.SetMinThreads(want, Math.Max(io, 64));
        var fleet = new VirtualFleet();
        // Peer ports are known only once each device listens; the lookup reads this map at send time.
        var groupOfPort = fleet._groupOfPort;
        var uplinks = new Dictionary<int, TokenBucket>();
        if (groupUplinkBytesPerSecond > 0)
        {
            for (int g = 1; g <= groups; g++) uplinks[g] = new TokenBucket(groupUplinkBytesPerSecond, 16 * 1024);
        }
        try
        {
            for (int i = 0; i < devices; i++)
            {
                int node = firstNodeId + i;
                int group = GroupOf(groupsByNodeId ? node : node - firstNodeId + 1, groups);
                var options = new VirtualDeviceOptions
                {
                    GroupUplink = uplinks.GetValueOrDefault(group),
                    SlotSize = slotSize,
                    GroupDataTopic = groupDataTopic?.Invoke(group),
                    Board = boardFor?.Invoke(i),
                    CoreHeapBudget = coreHeapBudget,
                    IsOwnGroup = (ip, port) => groupOfPort.TryGetValue(port, out int g) && g == group,
                    NodeId = (uint)node,
                    GroupId = group,
                    BrokerHost = brokerHost,
                    BrokerPort = brokerPortFor?.Invoke(i) ?? brokerPort,
                    DataDir = dataDir,
                    Verifier = verifier,
                    Link = linkFor?.Invoke(i) ?? LinkProfile.Unlimited,
                    FactoryVersion = factoryVersion ?? new FirmwareVersion(1, 0, 0),
                    Log = log,
                };
                // configure: per-device settings such as MQTT credentials and TLS (as flashed at provisioning).
                fleet._devices.Add(new VirtualDeviceHost(configure == null ? options : configure(options)));
            }
            await Task.WhenAll(fleet._devices.Select(async d =>
            {
                await d.StartAsync(ct);
                groupOfPort[d.Peer.Port] = d.GroupId;
            }));
            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    /// <summary>Payload bytes all devices sent to peers (copies, relays, repair replies).</summary>
    public long PeerPayloadBytes => Interlocked.Read(ref _retiredPeerBytes) + _devices.Sum(d => d.PeerPayloadBytesSent);

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_devices.Select(d => d.DisposeAsync().AsTask()));
        _devices.Clear();
    }
}
