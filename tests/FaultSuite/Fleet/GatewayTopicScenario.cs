using System.Buffers;
using System.Diagnostics;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.FaultSuite.Fleet;

/// <summary>
/// <c>gateway-topic</c>: mid-rollout, a device with valid credentials (the rogue, group 1) publishes what only the
/// gateway may: an original on device 2's in topic, a manifest for an image signed with its own key (retained) on its
/// group's manifest topic, a member list naming only itself (retained) on its group's member topic, and tries to read
/// every device's in topic. <c>refused</c> only when the monitor received none of the forged messages (while it did
/// receive the rogue's publish on its own topic), nothing for another device reached the rogue (Mosquitto 2.0 grants
/// the wildcard subscription and filters delivery; a gateway probe to device 2 proves messages were flowing), and at
/// the end the retained manifest and member list of group 1 are still the gateway's. The rollout must still complete
/// on every honest device.
/// </summary>
internal static class GatewayTopicScenario
{
    public const string Name = "gateway-topic";

    public static async Task<FleetScenarioResult> RunAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        if (o.Devices < 2) throw new ArgumentException("gateway-topic needs at least 2 devices");
        await using var rig = await SecureFleetRig.StartAsync(o, log, ct);
        byte[] bytes = rig.NewImage(o);
        var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), rig.Signer, o.ChunkSize);
        var run = rig.Gateway!.RunRolloutAsync(image, new RolloutOptions { Timeout = o.Timeout }, null, ct);
        await rig.WaitForFractionAsync(image.ChunkCount, o.FaultAt / 2, o.Timeout, ct);

        var (rogue, code) = await rig.TryConnectAsync(rig.Rogue.Username, rig.Rogue.Username, rig.Rogue.Secret, ct);
        if (rogue == null) throw new InvalidOperationException($"the rogue's valid account was refused ({code}): the rig is broken\n{rig.Broker.Log}");
        int foreignOriginals = 0;
        rogue.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Topic != Topics.DeviceIn(rig.RogueNode)) Interlocked.Increment(ref foreignOriginals);
            return Task.CompletedTask;
        };
        var checks = new List<SecurityCheck>();

        // A forged image: the rogue's own key, a newer version.
        using var rogueSigner = ManifestSigner.Generate();
        var forged = FirmwareImage.Create(Enumerable.Reverse(bytes).ToArray(), new FirmwareVersion(6, 6, 6), rogueSigner, o.ChunkSize);
        byte[] original = new Packetizer(forged).Original(0, []);
        byte[] manifest = forged.ManifestBytes;
        byte[] members = new MemberListUpdate { GroupId = 1, Epoch = uint.MaxValue, Count = 1, NodeIds = [rig.RogueNode], Ips = [0x7F000001], Ports = [1] }.ToBytes();
        const uint victim = 2;
        string a1 = await SecureFleetRig.PublishAsync(rogue, Topics.DeviceIn(victim), original, retain: false, ct);
        string a2 = await SecureFleetRig.PublishAsync(rogue, Topics.GroupManifest(1), manifest, retain: true, ct);
        string a3 = await SecureFleetRig.PublishAsync(rogue, Topics.GroupMembers(1), members, retain: true, ct);
        var sub = await rogue.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("iotota/dev/+/in", MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
        var subCode = sub.Items.First().ResultCode;
        var own = Guid.NewGuid().ToByteArray();
        string ackOwn = await SecureFleetRig.PublishAsync(rogue, Topics.DeviceOut(rig.RogueNode), own, retain: false, ct);
        bool monitorWorks = await rig.DeliveredAsync(Topics.DeviceOut(rig.RogueNode), own, TimeSpan.FromSeconds(5), ct);
        bool g1 = await rig.DeliveredAsync(Topics.DeviceIn(victim), original, TimeSpan.FromSeconds(1), ct);
        bool g2 = await rig.DeliveredAsync(Topics.GroupManifest(1), manifest, TimeSpan.FromSeconds(0.5), ct);
        bool g3 = await rig.DeliveredAsync(Topics.GroupMembers(1), members, TimeSpan.FromSeconds(0.5), ct);
        // Mosquitto grants the wildcard subscription but must deliver none of it: the gateway sends a probe to dev-2's in
        // topic (dev-2 rejects it as malformed); the monitor must get it, the rogue must not.
        byte[] probe = Guid.NewGuid().ToByteArray();
        await rig.Gateway.Broker.PublishAsync(Topics.DeviceIn(victim), probe, ct: ct);
        bool probeSeen = await rig.DeliveredAsync(Topics.DeviceIn(victim), probe, TimeSpan.FromSeconds(5), ct);
        await Task.Delay(TimeSpan.FromSeconds(0.5), ct);
        checks.Add(new("original on dev-2's in topic (QoS 1)", monitorWorks && !g1, $"PUBACK {a1}; delivered {g1}"));
        checks.Add(new("forged manifest on group 1 (QoS 1, retained)", monitorWorks && !g2, $"PUBACK {a2}; delivered {g2}"));
        checks.Add(new("member list on group 1 (QoS 1, retained)", monitorWorks && !g3, $"PUBACK {a3}; delivered {g3}"));
        int foreign = Volatile.Read(ref foreignOriginals);
        checks.Add(new("read every device's in topic", probeSeen && foreign == 0,
            $"SUBACK {subCode}; the gateway's probe to dev-2 reached the monitor {probeSeen}, messages for other devices that reached the rogue {foreign}"));
        try { await rogue.DisconnectAsync(new MqttClientDisconnectOptions(), ct); } catch (Exception) { }
        rogue.Dispose();

        var recovery = Stopwatch.StartNew();
        RolloutResult result = await run;
        int updated = await rig.WaitAllUpdatedAsync(bytes, TimeSpan.FromSeconds(30), ct);
        // What a device joining group 1 now would get: the gateway's manifest and member list, not the rogue's.
        var (retainedManifest, retainedMembers) = await RetainedAsync(rig, ct);
        bool manifestIntact = retainedManifest != null && retainedManifest.AsSpan().SequenceEqual(image.ManifestBytes);
        bool membersIntact = retainedMembers != null && !retainedMembers.AsSpan().SequenceEqual(members);
        checks.Add(new("group 1's retained manifest and member list are the gateway's", manifestIntact && membersIntact,
            $"manifest intact {manifestIntact}, member list intact {membersIntact}"));
        bool refused = checks.All(c => c.Refused);
        bool completed = !result.TimedOut && updated == o.Devices;
        return new FleetScenarioResult(Name, completed, result.ResentBytes, bytes.Length, recovery.Elapsed.TotalSeconds, updated, o.Devices,
            result.GatewayPayloadBytes, $"monitor saw the rogue's own publish: {monitorWorks} (PUBACK {ackOwn}); " + string.Join("; ", checks))
        {
            Refused = refused,
        };
    }

    private static async Task<(byte[]? Manifest, byte[]? Members)> RetainedAsync(SecureFleetRig rig, CancellationToken ct)
    {
        // The monitor account reads everything; a fresh session gets the retained messages.
        if (rig.Monitor != null) await rig.Monitor.DisconnectAsync(new MqttClientDisconnectOptions(), ct);
        MqttCredential m = rig.Provisioning.Monitor;
        var (client, code) = await rig.TryConnectAsync(m.Username, m.Username, m.Secret, ct);
        if (client == null) throw new InvalidOperationException("monitor refused: " + code);
        using (client)
        {
            byte[]? manifest = null, list = null;
            client.ApplicationMessageReceivedAsync += e =>
            {
                if (!e.ApplicationMessage.Retain) return Task.CompletedTask;
                if (e.ApplicationMessage.Topic == Topics.GroupManifest(1)) manifest = e.ApplicationMessage.Payload.ToArray();
                if (e.ApplicationMessage.Topic == Topics.GroupMembers(1)) list = e.ApplicationMessage.Payload.ToArray();
                return Task.CompletedTask;
            };
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topics.GroupManifest(1)).WithTopicFilter(Topics.GroupMembers(1)).Build(), ct);
            var sw = Stopwatch.StartNew();
            while ((manifest == null || list == null) && sw.Elapsed < TimeSpan.FromSeconds(3)) await Task.Delay(50, ct);
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), ct);
            return (manifest, list);
        }
    }
}
