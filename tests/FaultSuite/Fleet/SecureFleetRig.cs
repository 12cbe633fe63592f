using System.Collections.Concurrent;
using System.Diagnostics;
using IotOta.Simulation.Fleet;
using IotOta.Simulation.Security;
using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Security;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;
using MQTTnet;
using System.Buffers;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IotOta.FaultSuite.Fleet;

/// <summary>
/// A fleet behind a locked-down Mosquitto: every device, the gateway, a read-only monitor and one extra "rogue"
/// device account (node Devices+1, group 1: a compromised device that holds valid credentials but runs no honest
/// agent) are provisioned by <see cref="FleetProvisioning"/>; the broker gets the generated password_file and
/// acl_file. The monitor subscribes to <c>iotota/#</c> and records every message, so a scenario can tell whether a
/// forged publish reached anyone.
/// </summary>
internal sealed class SecureFleetRig : IAsyncDisposable
{
    private readonly ConcurrentQueue<(string Topic, byte[] Payload)> _seen = new();

    public required FleetProvisioning Provisioning;
    public required MosquittoBroker Broker;
    public required TempDir Dir;
    public required ManifestSigner Signer;
    public required MqttCredential Rogue;
    public required uint RogueNode;
    public GatewayNode? Gateway;
    public VirtualFleet? Fleet;
    public IMqttClient? Monitor;

    public static async Task<SecureFleetRig> StartAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        var p = FleetProvisioning.Create(o.Devices, o.Groups);
        uint rogueNode = (uint)o.Devices + 1;
        var rogue = p.AddDevice(rogueNode, 1);
        MosquittoBroker? broker = null;
        try
        {
            broker = await MosquittoBroker.StartAsync(new MosquittoSecurity { PasswordFile = p.PasswordFile(), AclFile = p.AclFile() }, ct: ct);
        }
        catch
        {
            p.Dispose();
            throw;
        }
        var rig = new SecureFleetRig
        {
            Provisioning = p, Broker = broker, Dir = new TempDir("iotota-secure-fleet"), Signer = ManifestSigner.Generate(), Rogue = rogue, RogueNode = rogueNode,
        };
        try
        {
            rig.Gateway = p.NewGateway(broker.Host, broker.Port, upBucket: new TokenBucket(o.GatewayUpBytesPerSecond, 16 * 1024), log: log);
            await rig.Gateway.StartAsync(ct);
            var verifier = new EcdsaSignatureVerifier();
            verifier.Add(rig.Signer.KeyId, rig.Signer.PublicKey());
            rig.Fleet = await VirtualFleet.StartAsync(o.Devices, o.Groups, broker.Host, broker.Port, Path.Combine(rig.Dir.Path, "fleet"), verifier,
                null, new FirmwareVersion(1, 0, 0), null, ct, configure: p.Configure);
            await rig.Gateway.WaitForDevicesAsync(o.Devices, TimeSpan.FromSeconds(60), ct);
            await MemberLists.WaitCompleteAsync(rig.Fleet.Devices, TimeSpan.FromSeconds(15), ct);
            var (monitor, code) = await rig.TryConnectAsync(p.Monitor.Username, p.Monitor.Username, p.Monitor.Secret, ct);
            rig.Monitor = monitor ?? throw new InvalidOperationException($"the monitor account was refused: {code}\n{broker.Log}");
            monitor.ApplicationMessageReceivedAsync += e =>
            {
                rig._seen.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
                return Task.CompletedTask;
            };
            await monitor.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topics.Root + "/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>Connects with MQTT 5; returns the client, or null and the broker's CONNACK reason (as MQTTnet reports it) when refused.</summary>
    public async Task<(IMqttClient? Client, string Code)> TryConnectAsync(string? user, string clientId, string? secret, CancellationToken ct)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var b = new MqttClientOptionsBuilder().WithTcpServer(Broker.Host, Broker.Port).WithClientId(clientId).WithCleanSession(true)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(5));
        if (user != null) b = b.WithCredentials(user, secret ?? "");
        try
        {
            var r = await client.ConnectAsync(b.Build(), ct);
            if (r.ResultCode == MqttClientConnectResultCode.Success) return (client, r.ResultCode.ToString());
            client.Dispose();
            return (null, r.ResultCode.ToString());
        }
        catch (MqttConnectingFailedException e)
        {
            client.Dispose();
            return (null, e.Message);
        }
    }

    /// <summary>Publishes at QoS 1 and returns the PUBACK reason (or the exception's message when the broker dropped
    /// the connection instead).</summary>
    public static async Task<string> PublishAsync(IMqttClient client, string topic, byte[] payload, bool retain, CancellationToken ct)
    {
        try
        {
            var r = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
            return r.ReasonCode.ToString();
        }
        catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return "connection closed: " + e.Message;
        }
    }

    /// <summary>Whether the monitor received <paramref name="payload"/> on <paramref name="topic"/>, waiting up to
    /// <paramref name="wait"/> (an honest message with the same bytes is impossible: the payloads carry a fresh image id).</summary>
    public async Task<bool> DeliveredAsync(string topic, byte[] payload, TimeSpan wait, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (_seen.Any(m => m.Topic == topic && m.Payload.AsSpan().SequenceEqual(payload))) return true;
            if (sw.Elapsed > wait) return false;
            await Task.Delay(50, ct);
        }
    }

    /// <summary>A publish the monitor can see arrives (proves the monitor works before counting silence as refusal).</summary>
    public async Task<bool> MonitorSeesAsync(string topic, TimeSpan wait, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < wait)
        {
            if (_seen.Any(m => m.Topic == topic)) return true;
            await Task.Delay(50, ct);
        }
        return false;
    }

    public byte[] NewImage(FleetScenarioOptions o)
    {
        var b = new byte[o.ImageSize];
        new Random(o.Seed).NextBytes(b);
        return b;
    }

    public async Task<int> WaitAllUpdatedAsync(byte[] image, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            int ok = Fleet!.Devices.Count(d => !d.IsStopped && d.Agent.State == DeviceState.Updated && DemoRunner.SlotMatches(d, image));
            if (ok == Fleet.Devices.Count || sw.Elapsed > timeout) return ok;
            await Task.Delay(100, ct);
        }
    }

    public async Task WaitForFractionAsync(int chunks, double fraction, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        long need = (long)(fraction * chunks * Fleet!.Devices.Count);
        while (sw.Elapsed < timeout && Fleet.Devices.Sum(d => (long)d.Agent.HeldCount) < need) await Task.Delay(10, ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (Monitor != null)
        {
            try { await Monitor.DisconnectAsync(); } catch (Exception) { }
            Monitor.Dispose();
        }
        if (Fleet != null) await Fleet.DisposeAsync();
        if (Gateway != null) await Gateway.DisposeAsync();
        await Broker.DisposeAsync();
        Provisioning.Dispose();
        Signer.Dispose();
        Dir.Dispose();
    }
}
