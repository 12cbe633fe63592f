using IotOta.Gateway.Mqtt;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;
using IotOta.BoardProfiles;
using IotOta.VirtualDevice.Network;

namespace IotOta.VirtualDevice.Host;

/// <summary>Everything one virtual device needs: identity, broker, where its flash file lives, its link, its trust.</summary>
public sealed record VirtualDeviceOptions
{
    public required uint NodeId { get; init; }
    public required int GroupId { get; init; }
    public required string BrokerHost { get; init; }
    public required int BrokerPort { get; init; }
    /// <summary>Further broker endpoints to fail over to (other nodes of a cluster), tried after BrokerHost:BrokerPort
    /// in this order; empty = that one only.</summary>
    public IReadOnlyList<MqttEndpoint> FailoverEndpoints { get; init; } = [];
    /// <summary>Every endpoint the device tries, its own first.</summary>
    public IReadOnlyList<MqttEndpoint> BrokerEndpoints => [new MqttEndpoint(BrokerHost, BrokerPort), .. FailoverEndpoints];
    /// <summary>Folder for the device's flash file (dev-{id}.flash).</summary>
    public required string DataDir { get; init; }
    public required ISignatureVerifier Verifier { get; init; }
    public LinkProfile Link { get; init; } = LinkProfile.Unlimited;
    public FirmwareVersion FactoryVersion { get; init; } = new(1, 0, 0);
    public int SlotSize { get; init; } = 4 * 1024 * 1024;
    public int MaxChunkSize { get; init; } = 4096;
    /// <summary>A board profile (boards/*.json). When set it decides the flash layout (slot, update-state and staging
    /// sizes), the sink mode and the largest chunk; SlotSize and MaxChunkSize are then ignored.</summary>
    public BoardProfile? Board { get; init; }
    /// <summary>Most peer connections (inbound and outbound together) the device holds at once, instead of the board's
    /// maxPeerConnections (null = the board's, else <see cref="DefaultMaxPeerConnections"/>; 0 = unlimited).</summary>
    public int? MaxPeerConnections { get; init; }
    /// <summary>Members a virtual device without a board can name (a whole protocol member list).</summary>
    public const int DefaultMaxMembers = Shared.Protocol.MemberListUpdate.MaxMembers;
    /// <summary>The socket budget of a virtual device without a board: as an esp32-devkitc's.</summary>
    public const int DefaultMaxPeerConnections = 6;
    /// <summary>The peer connection limit the device enforces.</summary>
    public int EffectiveMaxPeerConnections => MaxPeerConnections ?? Board?.MaxPeerConnections ?? DefaultMaxPeerConnections;
    /// <summary>Slot size the device uses: the board's update slot, else SlotSize.</summary>
    public int EffectiveSlotSize => Board?.SlotSize ?? SlotSize;
    /// <summary>Largest chunk the device accepts: the board's, else MaxChunkSize.</summary>
    public int EffectiveMaxChunkSize => Board?.MaxChunkSize ?? MaxChunkSize;
    /// <summary>A topic the device also subscribes to and reads as its own in-topic (the benchmark's group-fanout
    /// strategy: the broker replicates one publish per group), or null.</summary>
    public string? GroupDataTopic { get; init; }
    /// <summary>The device core's heap budget in bytes, instead of the board's coreHeapBudget (null = the board's;
    /// 0 = none). A core that would exceed it stops.</summary>
    public int? CoreHeapBudget { get; init; }
    public string? MqttUser { get; init; }
    public string? MqttPassword { get; init; }
    /// <summary>MQTT over TLS, trusting this CA only; null = plain TCP.</summary>
    public MqttTls? MqttTls { get; init; }
    /// <summary>The MQTT client id: the username when one is set (a broker with credentials requires them equal), else dev-{id}.</summary>
    public string MqttClientId => MqttUser ?? $"dev-{NodeId}";
    public Action<string>? Log { get; init; }
    /// <summary>The group's shared uplink for traffic to other groups (shared by the group's devices), or null.</summary>
    public TokenBucket? GroupUplink { get; init; }
    /// <summary>Whether a peer address (ip, port) belongs to this device's group; needed with GroupUplink.</summary>
    public Func<uint, int, bool>? IsOwnGroup { get; init; }
}
