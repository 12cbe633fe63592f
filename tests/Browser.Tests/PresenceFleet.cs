using IotOta.Shared.Protocol;
using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.Browser.Tests;

/// <summary>Devices that do what a device does first on the broker: connect with an "offline" last will and publish
/// their retained presence (group, version, state) on their status topic. One MQTT connection each; the gateway's
/// registry learns them the way it learns any device. For console tests at fleet scale, without running 1,000 firmware
/// instances.</summary>
public sealed class PresenceFleet : IAsyncDisposable
{
    private readonly List<IMqttClient> _clients = new();

    public sealed record Device(uint NodeId, int GroupId, FirmwareVersion Version, DeviceState State);

    public IReadOnlyList<Device> Devices { get; private init; } = [];

    public static async Task<PresenceFleet> StartAsync(string host, int port, IReadOnlyList<Device> devices, CancellationToken ct)
    {
        var fleet = new PresenceFleet { Devices = devices };
        var factory = new MqttClientFactory();
        foreach (var batch in devices.Chunk(50))
        {
            await Task.WhenAll(batch.Select(async d =>
            {
                var will = new Presence { NodeId = d.NodeId, GroupId = d.GroupId, Online = false, Ip = 0x7F000001, Port = 1, RunningVersion = d.Version, State = d.State };
                var client = factory.CreateMqttClient();
                var options = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId($"presence-{d.NodeId}")
                    .WithWillTopic(Topics.DeviceStatus(d.NodeId)).WithWillPayload(will.ToBytes()).WithWillRetain().WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithCleanSession().Build();
                await client.ConnectAsync(options, ct);
                var online = new Presence { NodeId = d.NodeId, GroupId = d.GroupId, Online = true, Ip = 0x7F000001, Port = 1, RunningVersion = d.Version, State = d.State };
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.DeviceStatus(d.NodeId)).WithPayload(online.ToBytes())
                    .WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
                lock (fleet._clients) fleet._clients.Add(client);
            }));
        }
        return fleet;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            try { await c.DisconnectAsync(); } catch (Exception) { /* broker gone */ }
            c.Dispose();
        }
    }
}
