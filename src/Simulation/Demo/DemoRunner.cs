using System.Security.Cryptography;
using IotOta.Gateway;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using IotOta.BoardProfiles;
using IotOta.Simulation.Fleet;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Host.Metering;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;

namespace IotOta.Simulation.Demo;

/// <summary>
/// The demo rollout: an embedded broker (or an external one), the gateway, a virtual fleet on factory version 1.0.0,
/// a generated and signed image 2.0.0 rolled out to all of it, and the closing figures.
/// </summary>
public static class DemoRunner
{
    public static Task<DemoSummary> RunAsync(DemoOptions o, IProgress<RolloutSnapshot>? progress, Action<string>? log, CancellationToken ct)
        => RunAsync(o, progress, log, null, ct);

    /// <param name="duringRollout">Runs beside the rollout once it started (fault and churn tests: stop devices, …).</param>
    internal static async Task<DemoSummary> RunAsync(DemoOptions o, IProgress<RolloutSnapshot>? progress, Action<string>? log,
        Func<VirtualFleet, GatewayNode, Task>? duringRollout, CancellationToken ct)
    {
        o.Validate();
        string dataDir = Path.Combine(Path.GetTempPath(), "iotota-demo-" + Guid.NewGuid().ToString("N")[..8]);
        EmbeddedBroker? broker = null;
        string host;
        int port;
        // Per-device credentials, ACL and TLS: made here for --secure/--tls, or given (an external broker uses their files).
        Security.FleetProvisioning? ownProvisioning = o.Provisioning == null && (o.Secure || o.Tls)
            ? Security.FleetProvisioning.Create(o.Devices, o.Groups, o.Tls) : null;
        Security.FleetProvisioning? provisioning = o.Provisioning ?? ownProvisioning;
        // An external broker: endpoints from --broker, credentials, TLS and device credentials from IotOta:Mqtt.
        Gateway.Mqtt.MqttBrokerSettings? external = o.Broker == null ? null : o.BrokerSettings ?? Gateway.Mqtt.MqttBrokerConfiguration.Load(o.Broker);
        if (external != null) (host, port) = (external.Endpoints[0].Host, external.Endpoints[0].Port);
        else
        {
            broker = await EmbeddedBroker.StartAsync(0, provisioning?.BrokerSecurity, log);
            (host, port) = (broker.Host, broker.Port);
        }
        var boards = o.Boards.Select(b => BoardProfile.Named(b)).ToList();
        // The fleet's shape must fit its devices' member lists and socket budgets: refused before anything starts.
        if (GroupFit.Problem(o.Devices, o.Groups, boards, o.PeerConnections) is { } shape) throw new ArgumentException(shape);
        int chunkSize = boards.Count == 0 ? o.ChunkSize : boards.Min(b => b.MaxChunkSize);
        if (boards.Count > 0 && o.FitImageToBoards)
        {
            int fit = (int)(boards.Min(b => b.SlotSize) * 0.9);
            if (o.ImageSize > fit) o = o with { ImageSize = fit };
        }
        foreach (var b in boards)
        {
            if (ImageFit.Problem(o.ImageSize, chunkSize, b.Name, b.SlotSize, b.MaxChunkSize) is { } why) throw new ArgumentException(why);
        }
        using var signer = ManifestSigner.Generate();
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(signer.KeyId, signer.PublicKey());
        var links = DeviceLinks(o);
        TokenBucket? gatewayUp = LinkRate.IsLimited(o.GatewayUpKbps) ? TokenBucket.Serializer(LinkRate.BytesPerSecond(o.GatewayUpKbps), TokenBucket.HostSlop) /* no idle credit, so no original beats F/u_s */ : null;
        VirtualFleet? fleet = null;
        GatewayNode? gateway = null;
        DemoBrokerCounter? brokerCount = broker != null ? DemoBrokerCounter.ForEmbedded(broker) : null;
        try
        {
            gateway = provisioning != null
                ? provisioning.NewGateway(host, port, upBucket: gatewayUp, log: log)
                : external != null ? MqttGatewayNode.Create(external, pace: gatewayUp == null ? null : gatewayUp.ConsumeAsync, log: log,
                    requiredPacketBytes: BrokerLimits.PacketBytesFor(chunkSize))
                : MqttGatewayNode.Create(host, port, pace: gatewayUp == null ? null : gatewayUp.ConsumeAsync, log: log,
                    requiredPacketBytes: BrokerLimits.PacketBytesFor(chunkSize));
            await gateway.StartAsync(ct);
            brokerCount ??= await DemoBrokerCounter.ForExternalAsync(host, port, () => ((gateway.Broker as GatewayMqttClient)?.DataWireBytesPublished ?? 0), ct);
            log?.Invoke("gateway connected; starting fleet");
            fleet = await VirtualFleet.StartAsync(o.Devices, o.Groups, host, port, dataDir, verifier, i => links[i], new FirmwareVersion(1, 0, 0), log, ct,
                groupUplinkBytesPerSecond: LinkRate.IsLimited(o.GroupUplinkKbps) ? LinkRate.BytesPerSecond(o.GroupUplinkKbps) : 0,
                boardFor: boards.Count == 0 ? null : i => boards[i % boards.Count],
                configure: Configure(external != null && provisioning == null ? FleetBrokerOptions.Apply(external) : provisioning == null ? null : provisioning.Configure, o.PeerConnections),
                coreHeapBudget: o.CoreHeapBudget);
            log?.Invoke("fleet started; waiting for presence");
            await gateway.WaitForDevicesAsync(o.Devices, TimeSpan.FromSeconds(60), ct);
            log?.Invoke("all devices online; waiting for member lists");
            // Let every device hold its member list before the manifest goes out.
            await MemberLists.WaitCompleteAsync(fleet.Devices, TimeSpan.FromSeconds(10), ct);

            // What the devices announced decides, before anything is sent (a profile can differ from the device).
            if (ImageFit.Problem(o.ImageSize, chunkSize, gateway.Registry.Online()) is { } misfit)
                throw new ArgumentException("refused: " + misfit);
            if (GroupShapeFit.Problem(gateway.Registry.Online()) is { } announced)
                throw new ArgumentException("refused: " + announced);
            var bytes = new byte[o.ImageSize];
            new Random(o.Seed).NextBytes(bytes);
            var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), signer, chunkSize);
            var options = new RolloutOptions
            {
                Timeout = o.Timeout,
                Root = o.SignedRoot ? ImageRootSet.Create(image, signer) : null,
                PiecesDownTrees = o.PiecesDownTrees,
                Scheduler = new SchedulerOptions
                {
                    CrossGroup = o.CrossGroup,
                    PriorForwardRate = LinkRate.IsLimited(o.DeviceUpKbps) ? LinkRate.BytesPerSecond(o.DeviceUpKbps) : 2_000_000,
                },
            };
            await brokerCount.RolloutStartsAsync(ct);
            Task<RolloutResult> rollout = gateway.RunRolloutAsync(image, options, progress, ct);
            if (duringRollout != null) await duringRollout(fleet, gateway);
            RolloutResult r = await rollout;
            var brokerReport = await brokerCount.RolloutEndedAsync(r.ImageBytes, o.Devices, ct);
            bool faults = duringRollout != null;
            if (faults)
            {
                // Devices that were off when the rollout ended finish from their peers (which keep serving the image):
                // give them until the timeout to boot the new version.
                await WaitForFleetVersionAsync(fleet, image.Version, o.Timeout, ct);
            }
            log?.Invoke("overhead table: " + string.Join("; ", gateway.Overheads.Snapshot().Select(d =>
                $"{d.NodeId}: {d.OverheadMs:0} ms, arrival {d.ArrivalMs:0} ms, {d.ForwardBytesPerSecond / 1000:0} kB/s, {d.Notices} notices")));
            // Check what the devices hold: the active slot must be the image, byte for byte.
            // A device whose core exceeded its heap budget stopped, as a board out of memory would: it failed.
            var errors = fleet.Devices.Where(d => d.HeapMeter.Exceeded).Select(d => d.HeapMeter.Failure!).ToList();
            int verified = fleet.Devices.Count(d => !d.IsStopped && !d.HeapMeter.Exceeded && SlotMatches(d, image.Bytes));
            return new DemoSummary
            {
                Devices = o.Devices,
                Groups = o.Groups,
                Updated = faults ? verified : Math.Min(r.Updated, verified),
                Failed = o.Devices - (faults ? verified : Math.Min(r.Updated, verified)),
                ImageBytes = r.ImageBytes,
                GatewayPayloadBytes = r.GatewayPayloadBytes,
                SlotsVerified = verified,
                PeerPayloadBytes = fleet.PeerPayloadBytes,
                PeerPayloadPerDevice = MinMedianMax(fleet.Devices.Select(d => d.PeerPayloadBytesSent)),
                Seconds = Math.Round(r.Seconds, 3),
                DeliveredSeconds = r.DeliveredSeconds is double ds ? Math.Round(ds, 3) : null,
                ListHeldSeconds = r.ListHeldSeconds is double ls ? Math.Round(ls, 3) : null,
                BoundSeconds = Bound(o, links, r.ImageBytes),
                GatewayPayloadPerImage = Math.Round((double)r.GatewayPayloadBytes / r.ImageBytes, 4),
                Broker = brokerReport,
                OriginalsSent = r.OriginalsSent,
                RelaysNamed = r.RelaysNamed,
                RepairCopiesSent = r.RepairCopiesSent,
                Reallocations = r.Reallocations,
                ReplansBy = r.ReplansBy,
                NoticeLatenessSeconds = Math.Round(r.NoticeLatenessSeconds, 3),
                NoticeDeviationSeconds = Math.Round(r.NoticeDeviationSeconds, 3),
                Overheads = gateway.Overheads.Snapshot(),
                Boards = boards.Select((b, bi) =>
                {
                    var mine = fleet.Devices.Where((_, di) => di % boards.Count == bi).ToList();
                    return new BoardFigures(b.Name, b.SinkMode.ToString(), mine.Count, mine.Count(d => !d.IsStopped && !d.HeapMeter.Exceeded && SlotMatches(d, image.Bytes)),
                        chunkSize, mine.Max(d => d.Agent.StagingCapacity), mine.Max(d => d.StagingHighWater),
                        mine.Max(d => d.HeapMeter.MaxPeakBytes), mine.Max(d => d.HeapMeter.RetainedBytes), o.CoreHeapBudget ?? b.CoreHeapBudget,
                        mine.Count(d => d.HeapMeter.Exceeded))
                    {
                        CoreReceivePeakBytes = mine.Max(d => d.HeapMeter.PhasePeakBytes(HeapPhase.Receive)),
                        CoreInstallPeakBytes = mine.Max(d => d.HeapMeter.PhasePeakBytes(HeapPhase.Install)),
                        CoreAfterInstallPeakBytes = mine.Max(d => d.HeapMeter.PhasePeakBytes(HeapPhase.AfterInstall)),
                    };
                }).ToList(),
                Mode = o.CrossGroup ? "cross-group" : "per-group",
                PeerConnectionsMax = fleet.Devices.Max(d => d.PeerConnectionsMax),
                PeerConnectionLimit = fleet.Devices.Min(d => d.Options.EffectiveMaxPeerConnections),
                PeerConnectionsRefused = fleet.Devices.Sum(d => d.PeerConnectionsRefused),
                TreeRelays = fleet.Devices.Sum(d => d.TreeRelays),
                TimedOut = r.TimedOut,
                Errors = errors,
            };
        }
        finally
        {
            if (fleet != null) await fleet.DisposeAsync();
            if (brokerCount != null) await brokerCount.DisposeAsync();
            if (gateway != null) await gateway.DisposeAsync();
            if (broker != null) await broker.DisposeAsync();
            ownProvisioning?.Dispose();
            try { Directory.Delete(dataDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Per-device settings: broker endpoints and credentials (--broker, --secure), then the peer connection
    /// limit (--peer-connections).</summary>
    private static Func<VirtualDeviceOptions, VirtualDeviceOptions>? Configure(Func<VirtualDeviceOptions, VirtualDeviceOptions>? broker, int? peerConnections)
    {
        if (broker == null && peerConnections == null) return null;
        return d =>
        {
            if (broker != null) d = broker(d);
            return peerConnections == null ? d : d with { MaxPeerConnections = peerConnections };
        };
    }

    private static async Task WaitForFleetVersionAsync(VirtualFleet fleet, FirmwareVersion version, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var live = fleet.Devices.Where(d => !d.IsStopped && !d.HeapMeter.Exceeded).ToList();
            if (live.All(d => d.Agent.RunningVersion.SameAs(version) && d.Agent.State == DeviceState.Updated)) return;
            if (live.Any(d => d.Agent.State == DeviceState.Failed)) return;
            await Task.Delay(50, ct);
        }
    }

    public static bool SlotMatches(VirtualDeviceHost d, byte[] image)
    {
        var slot = d.Flash.Slot(d.Agent.ActiveSlot);
        var buf = new byte[image.Length];
        slot.Read(0, buf, 0, buf.Length);
        return buf.AsSpan().SequenceEqual(image);
    }

    private static long[] MinMedianMax(IEnumerable<long> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        return v.Length == 0 ? [0, 0, 0] : [v[0], v[v.Length / 2], v[^1]];
    }

    /// <summary>Per device link: rates from the options; a seeded slow fraction has every rate divided by the factor.</summary>
    public static LinkProfile[] DeviceLinks(DemoOptions o)
    {
        var rng = new Random(o.Seed);
        int slow = (int)Math.Round(o.Devices * o.SlowFraction);
        var slowSet = Enumerable.Range(0, o.Devices).OrderBy(_ => rng.Next()).Take(slow).ToHashSet();
        return Enumerable.Range(0, o.Devices).Select(i =>
        {
            double f = slowSet.Contains(i) ? o.SlowFactor : 1;
            double up = LinkRate.BytesPerSecond(o.DeviceUpKbps) / f;
            double down = LinkRate.BytesPerSecond(o.DeviceDownKbps) / f;
            return new LinkProfile(up, down, TimeSpan.FromMilliseconds(o.LatencyMs), o.Loss);
        }).ToArray();
    }

    private static double? Bound(DemoOptions o, LinkProfile[] links, long imageBytes)
    {
        if (!LinkRate.IsLimited(o.GatewayUpKbps) || o.DeviceUpKbps <= 0 || o.DeviceDownKbps <= 0) return null;
        double us = LinkRate.BytesPerSecond(o.GatewayUpKbps);
        return Math.Round(KumarRossBound.Seconds(imageBytes, us, links.Select(l => l.UpBytesPerSecond).ToList(), links.Select(l => l.DownBytesPerSecond).ToList()), 3);
    }
}
