using IotOta.TestSupport.Gateway;
using IotOta.Gateway.Api;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Tests.Api;

/// <summary>A rollout manager over a gateway without a broker (devices are fed to its registry as presences), for
/// tests of what the API refuses before anything is sent.</summary>
public abstract class BrokerlessManager : IAsyncLifetime
{
    protected readonly GatewayNode _gateway = new(new FakeBrokerPort());
    protected readonly ManifestSigner _signer = ManifestSigner.Generate();
    protected RolloutManager _manager = null!;

    public Task InitializeAsync()
    {
        _manager = new RolloutManager(_gateway, _signer, new InMemoryImageStore(), new InMemoryRolloutStore(), new RolloutManagerOptions());
        return Task.CompletedTask;
    }

    /// <summary>A device's retained presence, as the registry gets it: its board's capabilities, and its peer budget
    /// when <paramref name="maxMembers"/> is given.</summary>
    protected void Announce(uint node, int group, int slot = 1024 * 1024, int maxChunk = 4096, int? maxMembers = null, int peers = 6, bool online = true) =>
        _gateway.Registry.OnPresence(new Presence
        {
            NodeId = node, GroupId = group, Online = online, Ip = 0x0100007F, Port = 5000 + (int)node, RunningVersion = new FirmwareVersion(1, 0, 0),
            HasCapabilities = true, SlotSize = slot, MaxChunkSize = maxChunk, SequentialSink = true, StagingCapacity = 64,
            HasPeerBudget = maxMembers != null, MaxMembers = maxMembers ?? 0, MaxPeerConnections = maxMembers != null ? peers : 0,
        });

    public async Task DisposeAsync()
    {
        _signer.Dispose();
        await _gateway.DisposeAsync();
    }
}
