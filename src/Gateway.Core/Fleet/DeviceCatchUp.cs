using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Fleet;

/// <summary>
/// The request path that does not depend on retained messages. A device announces itself on every (re)connect (its
/// presence, then a progress report naming the image it holds a manifest for): that is its request. When, a short
/// grace after its presence, a device of a group with a rollout running still has not reported that rollout's image
/// (no retained manifest reached it: a node of a broker cluster that does not replicate retained messages, a broker
/// restarted without persistence) and does not run its version yet, the gateway answers on the device's own in-topic
/// with everything it keeps retained for that group (<see cref="RetainedLedger.ForGroup"/>: member list, manifest,
/// relay tables) and, with protocol v2, the group's signed root, which is never retained (one 160-B message): whatever the gateway keeps retained, the answer carries too. Devices that got the
/// retained messages cost nothing. Thread-safe.
/// </summary>
public sealed class DeviceCatchUp
{
    private readonly RetainedLedger _ledger;
    private readonly Func<string, byte[], Task> _send;
    private readonly Func<uint, FirmwareVersion?> _runningVersion;
    private readonly TimeProvider _time;
    private readonly Action<string>? _log;
    private readonly object _gate = new();
    /// <summary>Per device: when its newest presence came, and the image its group's state announced then (0: none).</summary>
    private readonly Dictionary<uint, (long At, uint Image)> _presence = new();
    private readonly Dictionary<uint, (uint Image, long At)> _lastReport = new();
    private readonly CancellationTokenSource _stop = new();
    private long _answers, _bytes;

    /// <param name="send">publishes one message to a topic (QoS 1, not retained)</param>
    /// <param name="runningVersion">the version a device last said it runs (null = unknown)</param>
    public DeviceCatchUp(RetainedLedger ledger, Func<string, byte[], Task> send, Func<uint, FirmwareVersion?> runningVersion,
        TimeProvider time, Action<string>? log = null)
    {
        _ledger = ledger;
        _send = send;
        _runningVersion = runningVersion;
        _time = time;
        _log = log;
    }

    /// <summary>How long after a presence the gateway waits for the device's report before it answers.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Answers sent (one per device that lacked the state), and their payload bytes.</summary>
    public long Answers => Interlocked.Read(ref _answers);
    public long AnswerBytes => Interlocked.Read(ref _bytes);

    /// <summary>A device announced itself online: check after <see cref="Grace"/> whether it needs an answer.</summary>
    public void OnPresence(uint nodeId, int groupId)
    {
        if (_stop.IsCancellationRequested) return;
        long now = _time.GetTimestamp();
        uint announced = Announced(_ledger.ForGroup(groupId)).ImageId;
        lock (_gate)
        {
            _presence[nodeId] = (now, announced);
        }
        _ = CheckLaterAsync(nodeId, groupId, now, _stop.Token);
    }

    /// <summary>No more answers (the gateway is stopping).</summary>
    public void Stop() => _stop.Cancel();

    /// <summary>A device reported which image it holds a manifest for (0 = none).</summary>
    public void OnReport(uint nodeId, uint imageId)
    {
        lock (_gate) _lastReport[nodeId] = (imageId, _time.GetTimestamp());
    }

    private async Task CheckLaterAsync(uint nodeId, int groupId, long presenceAt, CancellationToken ct)
    {
        try
        {
            await Task.Delay(Grace, _time, ct);
            lock (_gate)
            {
                if (_presence.GetValueOrDefault(nodeId).At != presenceAt) return; // a newer presence checks for itself
            }
            await AnswerIfNeededAsync(nodeId, groupId);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            _log?.Invoke($"answer to device {nodeId} failed: {e.Message}");
        }
    }

    /// <summary>The image a group's state announces (its v1 manifest's or v2 signed root's image id and version), or
    /// (0, null) when none of its messages tells (then every device that connects is answered).</summary>
    public static (uint ImageId, FirmwareVersion? Version) Announced(IReadOnlyList<(string Topic, byte[] Payload)> state)
    {
        foreach (var (_, payload) in state)
        {
            try
            {
                switch (WireHeader.Peek(payload, 0, payload.Length))
                {
                    case MessageType.Manifest:
                        var m = Manifest.Decode(payload, 0, payload.Length);
                        return (m.ImageId, m.Version);
                    case MessageType.ImageRoot:
                        var r = ImageRoot.Decode(payload, 0, payload.Length);
                        return (r.ImageId, r.Version);
                }
            }
            catch (ProtocolException)
            {
                // a manifest or root this gateway cannot read back: the device checks the signature anyway
            }
        }
        return (0, null);
    }

    /// <summary>Answers now if the device lacks its group's running rollout; true when it answered.</summary>
    public async Task<bool> AnswerIfNeededAsync(uint nodeId, int groupId)
    {
        var state = _ledger.ForGroup(groupId);
        // Only a member list kept for the group: no rollout targets it, nothing to catch up on.
        if (!state.Any(s => s.Topic != Topics.GroupMembers(groupId))) return false;
        var (imageId, version) = Announced(state);
        lock (_gate)
        {
            bool seen = _presence.TryGetValue(nodeId, out var presence);
            if (imageId != 0 && _lastReport.TryGetValue(nodeId, out var r) && r.Image == imageId && r.At >= presence.At) return false;
            // A device that was online before its group's rollout state was published gets it the way the rollout
            // sends it (a retained publish reaches those already subscribed; a v2 root goes to the group's seeds and
            // down its copy tree), and with v2 it reports the image only once it holds the whole hash list, which
            // may take longer than the grace: answering it sent the member list and root again to every device that
            // came online in the 2 s before a rollout began (N = 1,000: 28-75 devices, 32-86 KB through the broker).
            if (imageId != 0 && seen && presence.Image != imageId) return false;
        }
        if (version != null && _runningVersion(nodeId) is { } running && running.SameAs(version)) return false;
        foreach (var (topic, payload) in state)
        {
            await _send(Topics.DeviceIn(nodeId), payload);
            Interlocked.Add(ref _bytes, payload.Length);
        }
        Interlocked.Increment(ref _answers);
        _log?.Invoke($"device {nodeId} (group {groupId}) had not got its rollout state from the broker: sent {state.Count} message(s) to it directly");
        return true;
    }
}
