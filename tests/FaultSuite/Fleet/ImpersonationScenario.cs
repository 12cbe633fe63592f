using System.Diagnostics;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using MQTTnet;

namespace IotOta.FaultSuite.Fleet;

/// <summary>
/// <c>impersonation</c>: mid-rollout, against Mosquitto with the generated password_file and acl_file, someone tries
/// to be device 2: with a wrong secret, with the rogue device's own secret, without credentials, with the rogue's own
/// account but device 2's client id (a session takeover), and — connected as the rogue — by publishing a forged
/// presence and receipt notice on device 2's topics. <c>refused</c> only when every attempt was observably refused:
/// CONNACK not success, device 2 never lost its session, and the read-only monitor never received a forged message
/// (while it did receive the rogue's publish on its own topic). The rollout must still complete on every honest device.
/// </summary>
internal static class ImpersonationScenario
{
    public const string Name = "impersonation";

    public static async Task<FleetScenarioResult> RunAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        if (o.Devices < 2) throw new ArgumentException("impersonation needs at least 2 devices");
        await using var rig = await SecureFleetRig.StartAsync(o, log, ct);
        byte[] bytes = rig.NewImage(o);
        var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), rig.Signer, o.ChunkSize);
        var run = rig.Gateway!.RunRolloutAsync(image, new RolloutOptions { Timeout = o.Timeout }, null, ct);
        await rig.WaitForFractionAsync(image.ChunkCount, o.FaultAt / 2, o.Timeout, ct);

        const uint victim = 2;
        string victimUser = Gateway.Security.MqttIdentity.DeviceUsername(victim);
        var victimDevice = rig.Fleet!.Devices.First(d => d.NodeId == victim);
        long victimConnects = victimDevice.Mqtt.Connects;
        var checks = new List<SecurityCheck>();

        var (c1, code1) = await rig.TryConnectAsync(victimUser, victimUser, "not-the-secret", ct);
        checks.Add(new("connect as dev-2 with a wrong secret", c1 == null, "CONNACK " + code1));
        c1?.Dispose();
        var (c2, code2) = await rig.TryConnectAsync(victimUser, victimUser, rig.Rogue.Secret, ct);
        checks.Add(new("connect as dev-2 with the rogue's own secret", c2 == null, "CONNACK " + code2));
        c2?.Dispose();
        var (c3, code3) = await rig.TryConnectAsync(null, victimUser, null, ct);
        checks.Add(new("connect as dev-2 without credentials", c3 == null, "CONNACK " + code3));
        c3?.Dispose();

        // The rogue's own valid account, but dev-2's client id: the broker takes the username as client id, so the
        // connection is the rogue's and dev-2's session stays.
        var (rogue, code4) = await rig.TryConnectAsync(rig.Rogue.Username, victimUser, rig.Rogue.Secret, ct);
        if (rogue == null) throw new InvalidOperationException($"the rogue's valid account was refused ({code4}): the rig is broken\n{rig.Broker.Log}");
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        long connectsAfter = victimDevice.Mqtt.Connects;
        bool kept = victimDevice.Mqtt.IsConnected && connectsAfter == victimConnects;
        checks.Add(new("rogue account with dev-2's client id", kept, $"CONNACK {code4}; dev-2 connects {victimConnects} -> {connectsAfter}, connected {victimDevice.Mqtt.IsConnected}"));

        // Publishing as dev-2: an "offline, failed" presence (retained) and a receipt notice for a packet it never got.
        var presence = new Presence
        {
            NodeId = victim, GroupId = victimDevice.GroupId, Online = false, Ip = 0x7F000001, Port = 1, RunningVersion = new FirmwareVersion(9, 9, 9),
            State = DeviceState.Failed,
        }.ToBytes();
        var notice = new byte[35];
        new ReceiptNotice { NodeId = victim, ImageId = image.ImageId, Index = image.ChunkCount - 1, Kind = 0, ReceiveTimeMs = 1, ForwardedTimeMs = 2 }.Encode(notice, 0);
        string ack1 = await SecureFleetRig.PublishAsync(rogue, Topics.DeviceStatus(victim), presence, retain: true, ct);
        string ack2 = await SecureFleetRig.PublishAsync(rogue, Topics.DeviceOut(victim), notice, retain: false, ct);
        // The rogue's own topic is open to it: the monitor must see this one, or silence proves nothing.
        var own = Guid.NewGuid().ToByteArray();
        string ackOwn = await SecureFleetRig.PublishAsync(rogue, Topics.DeviceOut(rig.RogueNode), own, retain: false, ct);
        bool monitorWorks = await rig.DeliveredAsync(Topics.DeviceOut(rig.RogueNode), own, TimeSpan.FromSeconds(5), ct);
        bool got1 = await rig.DeliveredAsync(Topics.DeviceStatus(victim), presence, TimeSpan.FromSeconds(1), ct);
        bool got2 = await rig.DeliveredAsync(Topics.DeviceOut(victim), notice, TimeSpan.FromSeconds(0.5), ct);
        checks.Add(new("rogue publishes dev-2's presence (QoS 1, retained)", monitorWorks && !got1, $"PUBACK {ack1}; delivered {got1}"));
        checks.Add(new("rogue publishes a receipt notice on dev-2's out topic (QoS 1)", monitorWorks && !got2, $"PUBACK {ack2}; delivered {got2}"));
        try { await rogue.DisconnectAsync(new MqttClientDisconnectOptions(), ct); } catch (Exception) { }
        rogue.Dispose();

        var recovery = Stopwatch.StartNew();
        RolloutResult result = await run;
        int updated = await rig.WaitAllUpdatedAsync(bytes, TimeSpan.FromSeconds(30), ct);
        bool refused = checks.All(c => c.Refused);
        bool completed = !result.TimedOut && updated == o.Devices;
        return new FleetScenarioResult(Name, completed, result.ResentBytes, bytes.Length, recovery.Elapsed.TotalSeconds, updated, o.Devices,
            result.GatewayPayloadBytes, $"monitor saw the rogue's own publish: {monitorWorks} (PUBACK {ackOwn}); " + string.Join("; ", checks))
        {
            Refused = refused,
        };
    }
}
