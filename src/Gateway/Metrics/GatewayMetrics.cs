using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Api;
using IotOta.Gateway.Scheduling;
using Prometheus;

namespace IotOta.Gateway.Metrics;

/// <summary>
/// What Prometheus scrapes at GET /metrics (prometheus-net, one registry per server): rollout progress, bytes, per-group
/// completion, device states, receipt-overhead and forwarding-rate histograms, relay links and intermediate nodes.
/// Gauges are read from the gateway at each scrape; the histograms observe every receipt notice as it arrives.
/// First-network bytes (iotota_first_network_bytes_sent) come from <see cref="FirstNetworkBytes"/>: `serve` wires in
/// its embedded broker's count (<see cref="Mqtt.EmbeddedBrokerBytes"/>); with an external broker it is absent, and
/// the gateway's own published bytes (iotota_gateway_published_bytes_total) leave out what the broker sends on.
/// </summary>
public sealed class GatewayMetrics
{
    private readonly RolloutManager _m;
    private readonly EventStreamGate _streams;
    private readonly SessionStore _sessions;
    private readonly Gauge _devices, _online, _versions, _rolloutInfo, _progress, _target, _updated, _failed, _phase, _phases, _payload, _imageBytes,
        _groupCompletion, _groupProgress, _deliveriesDone, _deliveriesTotal, _relayLinks, _intermediates, _streamsOpen, _sessionsActive, _firstNetwork;
    private readonly Counter _published, _messages;
    private readonly Histogram _overhead, _forwardRate;
    private string[]? _lastRolloutLabels;
    private readonly HashSet<string> _groupsSeen = new(), _versionsSeen = new(), _statesSeen = new();

    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    /// <summary>Bytes the broker sent on the first network, when a counter is wired in (null: not known).</summary>
    public Func<long?>? FirstNetworkBytes { get; set; }

    public GatewayMetrics(RolloutManager m, EventStreamGate streams, SessionStore sessions)
    {
        _m = m;
        _streams = streams;
        _sessions = sessions;
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        _devices = f.CreateGauge("iotota_devices", "Devices the gateway knows, by state (Idle, Receiving, Verifying, Updated, Failed, ...)", "state");
        _online = f.CreateGauge("iotota_devices_online", "Devices whose presence says online");
        _versions = f.CreateGauge("iotota_device_versions", "Devices by the firmware version they run", "version");
        _rolloutInfo = f.CreateGauge("iotota_rollout_info", "The current (or last) rollout: always 1, its id, version and state as labels", "rollout", "version", "state");
        _progress = f.CreateGauge("iotota_rollout_progress_percent", "Share of the image's packets the target devices hold (current or last rollout)");
        _deliveriesDone = f.CreateGauge("iotota_rollout_deliveries_done", "Packet deliveries of the running (or last) phase acknowledged by receipt notices");
        _deliveriesTotal = f.CreateGauge("iotota_rollout_deliveries_total", "Packet deliveries the running (or last) phase needs");
        _target = f.CreateGauge("iotota_rollout_target_devices", "Target devices of the current (or last) rollout");
        _updated = f.CreateGauge("iotota_rollout_updated_devices", "Target devices running the new image");
        _failed = f.CreateGauge("iotota_rollout_failed_devices", "Target devices in state Failed");
        _phase = f.CreateGauge("iotota_rollout_phase", "Phase running now (1-based)");
        _phases = f.CreateGauge("iotota_rollout_phases", "Phases of the rollout (canary, percentages)");
        _payload = f.CreateGauge("iotota_rollout_gateway_payload_bytes", "Packet payload the gateway published for this rollout");
        _imageBytes = f.CreateGauge("iotota_rollout_image_bytes", "Size of the image being rolled out");
        _groupCompletion = f.CreateGauge("iotota_group_completion_ratio", "Per group: target devices updated / target devices (current or last rollout)", "group");
        _groupProgress = f.CreateGauge("iotota_group_progress_percent", "Per group: share of the image's packets the group's target devices hold", "group");
        _relayLinks = f.CreateGauge("iotota_relay_links", "Distinct device-to-device (root to relay, across groups) links in the latest send orders");
        _intermediates = f.CreateGauge("iotota_intermediate_nodes", "Devices holding minimum units not yet acknowledged by the devices they forward to");
        _streamsOpen = f.CreateGauge("iotota_event_streams_open", "Open rollout event streams");
        _sessionsActive = f.CreateGauge("iotota_console_sessions", "Console sessions logged in (not revoked)");
        _firstNetwork = f.CreateGauge("iotota_first_network_bytes_sent", "Bytes the broker sent on the first network (control included); absent when not known",
            new GaugeConfiguration { SuppressInitialValue = true });
        _published = f.CreateCounter("iotota_gateway_published_bytes_total", "MQTT payload bytes the gateway published (packets, manifests, control)");
        _messages = f.CreateCounter("iotota_gateway_published_messages_total", "MQTT messages the gateway published");
        _overhead = f.CreateHistogram("iotota_receipt_overhead_ms", "Per receipt notice: time from the gateway's send to the device's notice (ms)",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 14) });
        _forwardRate = f.CreateHistogram("iotota_forwarding_rate_bytes_per_second", "Per receipt notice of a forwarding device: its measured forwarding rate (B/s)",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(16 * 1024, 2, 12) });
        m.Gateway.Overheads.Updated += Observe;
        Registry.AddBeforeCollectCallback(Update);
    }

    private void Observe(DeviceOverhead o)
    {
        if (double.IsFinite(o.LastOverheadMs) && o.LastOverheadMs >= 0) _overhead.Observe(o.LastOverheadMs);
        if (double.IsFinite(o.ForwardBytesPerSecond) && o.ForwardBytesPerSecond > 0) _forwardRate.Observe(o.ForwardBytesPerSecond);
    }

    private void Update()
    {
        lock (_groupsSeen) UpdateCore();
    }

    private void UpdateCore()
    {
        var devices = _m.Gateway.Registry.All();
        _online.Set(devices.Count(d => d.Online));
        SetAll(_devices, _statesSeen, devices.GroupBy(d => d.State.ToString()).ToDictionary(g => g.Key, g => (double)g.Count()));
        SetAll(_versions, _versionsSeen, devices.GroupBy(d => d.Version.ToString()).ToDictionary(g => g.Key, g => (double)g.Count()));
        _published.IncTo(_m.Gateway.Broker.BytesPublished);
        _messages.IncTo(_m.Gateway.Broker.MessagesPublished);
        if (FirstNetworkBytes?.Invoke() is { } fn) _firstNetwork.Set(fn);
        _streamsOpen.Set(_streams.Open);
        _sessionsActive.Set(_sessions.Count);
        var list = _m.Rollouts.List();
        var r = list.LastOrDefault(x => RolloutStates.IsActive(x.State)) ?? list.LastOrDefault(x => x.State != RolloutStates.Created);
        if (r == null) return;
        var v = _m.View(r);
        string[] labels = [v.Id, v.Version, v.State];
        if (_lastRolloutLabels != null && !_lastRolloutLabels.SequenceEqual(labels)) _rolloutInfo.RemoveLabelled(_lastRolloutLabels);
        _lastRolloutLabels = labels;
        _rolloutInfo.WithLabels(labels).Set(1);
        _progress.Set(v.Percent);
        _target.Set(v.Devices);
        if (v.Snapshot is { } snap)
        {
            _deliveriesDone.Set(snap.DeliveriesDone);
            _deliveriesTotal.Set(snap.DeliveriesTotal);
        }
        _updated.Set(v.Updated);
        _failed.Set(v.Failed);
        _phase.Set(v.Phases.Count == 0 ? 0 : v.Phase + 1);
        _phases.Set(v.Phases.Count);
        _payload.Set(v.GatewayPayloadBytes);
        _imageBytes.Set(v.ImageBytes);
        SetAll(_groupCompletion, _groupsSeen, v.GroupProgress.ToDictionary(g => g.GroupId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            g => g.Devices == 0 ? 0 : (double)g.Updated / g.Devices));
        foreach (var g in v.GroupProgress) _groupProgress.WithLabels(g.GroupId.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(g.Percent);
        _relayLinks.Set(v.RecentOrders.SelectMany(o => o.Relays.Select(x => (o.Root.NodeId, x.NodeId))).Distinct().Count());
        _intermediates.Set(v.Intermediates.Count);
    }

    /// <summary>Sets one labelled gauge per key; keys seen before and gone now read 0.</summary>
    private static void SetAll(Gauge gauge, HashSet<string> seen, IReadOnlyDictionary<string, double> values)
    {
        foreach (var k in seen.Where(k => !values.ContainsKey(k))) gauge.WithLabels(k).Set(0);
        foreach (var (k, val) in values)
        {
            gauge.WithLabels(k).Set(val);
            seen.Add(k);
        }
    }
}
