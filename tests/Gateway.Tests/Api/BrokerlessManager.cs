using IotOta.TestSupport.Gateway;
using IotOta.Gateway.Api;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Images;

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

    public async Task DisposeAsync()
    {
        _signer.Dispose();
        await _gateway.DisposeAsync();
    }
}
