using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Publishes the rollout's signed manifest: retained on the manifest topic of every target group that does not have it
/// yet (only devices of targeted groups ever see it, and a group that appears mid-rollout gets it too), or, with
/// <see cref="RolloutOptions.ManifestPerDevice"/>, to each target device's own topic until it reports the image.
/// After a broker restart everything goes out again; an aborted rollout takes its retained manifests back.
/// </summary>
internal sealed class ManifestPublisher(IBrokerPort broker, DeviceRegistry registry, FirmwareImage image, RolloutOptions options,
    RolloutTargets targets, TimeProvider time)
{
    private static readonly TimeSpan DeviceResend = TimeSpan.FromSeconds(3);
    private readonly object _gate = new();
    private readonly HashSet<int> _groups = new();
    private readonly Dictionary<uint, long> _sentAt = new();

    public async Task PublishAsync(CancellationToken ct)
    {
        if (options.ManifestPerDevice)
        {
            await PublishToDevicesAsync(ct);
            return;
        }
        List<int> groups;
        lock (_gate) groups = targets.Groups().Where(g => !_groups.Contains(g)).ToList();
        foreach (int g in groups)
        {
            await broker.PublishAsync(Topics.GroupManifest(g), image.ManifestBytes, retain: true, ct: ct);
            lock (_gate) _groups.Add(g);
        }
    }

    /// <summary>The broker may have restarted and lost its retained messages: publish everything again.</summary>
    public void Forget()
    {
        lock (_gate)
        {
            _groups.Clear();
            _sentAt.Clear();
        }
    }

    /// <summary>The manifest to each target device's own topic, again every few seconds while the device has not
    /// reported this image (it was offline, or the message was lost); not to devices that are done or failed.</summary>
    private async Task PublishToDevicesAsync(CancellationToken ct)
    {
        foreach (uint t in targets.Nodes())
        {
            if (registry.Get(t) is not { Online: true } d || d.ImageId == image.ImageId || d.Runs(image)) continue;
            if (options.Health?.HasFailed(t) == true) continue;
            lock (_gate)
            {
                if (_sentAt.TryGetValue(t, out long at) && time.GetElapsedTime(at) < DeviceResend) continue;
                _sentAt[t] = time.GetTimestamp();
            }
            await broker.PublishAsync(Topics.DeviceIn(t), image.ManifestBytes, ct: ct);
        }
    }

    /// <summary>An aborted rollout takes its manifest back, so devices that connect later do not start it.</summary>
    public async Task ClearAsync(CancellationToken ct)
    {
        List<int> groups;
        lock (_gate) groups = _groups.ToList();
        foreach (int g in groups)
        {
            try
            {
                await broker.PublishAsync(Topics.GroupManifest(g), Array.Empty<byte>(), retain: true, ct: ct);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // broker unreachable or slow: the retained manifest stays until the next rollout replaces it
                return;
            }
        }
    }
}
