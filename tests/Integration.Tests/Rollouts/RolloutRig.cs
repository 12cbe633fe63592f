using IotOta.Gateway;
using IotOta.Gateway.Images;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Platform;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>What a rollout test on the real stack starts with: an embedded broker, a scratch folder for the fleet's
/// flash, a signing key and a device-side verifier that trusts it, and a started gateway on that broker.</summary>
internal sealed class RolloutRig : IAsyncDisposable
{
    private RolloutRig(EmbeddedBroker broker, TempDir dir, ManifestSigner signer, EcdsaSignatureVerifier verifier, GatewayNode gateway)
    {
        Broker = broker;
        Dir = dir;
        Signer = signer;
        Verifier = verifier;
        Gateway = gateway;
    }

    public EmbeddedBroker Broker { get; }
    public TempDir Dir { get; }
    public ManifestSigner Signer { get; }
    public EcdsaSignatureVerifier Verifier { get; }
    public GatewayNode Gateway { get; }

    /// <param name="pace">The gateway's uplink (null: unlimited).</param>
    public static async Task<RolloutRig> StartAsync(Func<int, CancellationToken, Task>? pace = null)
    {
        var broker = await EmbeddedBroker.StartAsync();
        var signer = ManifestSigner.Generate();
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(signer.KeyId, signer.PublicKey());
        var gateway = MqttGatewayNode.Create(broker.Host, broker.Port, pace: pace);
        await gateway.StartAsync(CancellationToken.None);
        return new RolloutRig(broker, new TempDir(), signer, verifier, gateway);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        Signer.Dispose();
        Dir.Dispose();
        await Broker.DisposeAsync();
    }
}
