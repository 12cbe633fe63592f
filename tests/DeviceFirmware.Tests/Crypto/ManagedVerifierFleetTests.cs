using System.Security.Cryptography;
using IotOta.DeviceFirmware.Crypto;
using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Host;

namespace IotOta.DeviceFirmware.Tests.Crypto;

/// <summary>A virtual fleet whose devices check the manifest with the board's managed verifier (no platform ECDSA)
/// installs a gateway-signed image, byte for byte. (Refusals are covered in EcdsaP256VerifierTests.)</summary>
public sealed class ManagedVerifierFleetTests
{
    [Fact]
    public async Task A_fleet_checking_manifests_with_the_managed_verifier_installs_the_image()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        string dir = Path.Combine(Path.GetTempPath(), "iotota-managed-ecdsa-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        try
        {
            using var signer = ManifestSigner.Generate();
            byte[] key;
            using (ECDsa pub = signer.PublicKey()) key = P256TestMath.PublicKey(pub);
            var verifier = new EcdsaP256Verifier(signer.KeyId, key);
            await using var gateway = MqttGatewayNode.Create(broker.Host, broker.Port);
            await gateway.StartAsync(CancellationToken.None);
            await using var fleet = await VirtualFleet.StartAsync(4, 2, broker.Host, broker.Port, dir, verifier);
            await gateway.WaitForDevicesAsync(4, TimeSpan.FromSeconds(60), CancellationToken.None);

            var bytes = new byte[32 * 1024];
            new Random(8).NextBytes(bytes);
            var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), signer);
            var r = await gateway.RunRolloutAsync(image, new RolloutOptions { Timeout = TimeSpan.FromSeconds(120) }, null, CancellationToken.None);

            Assert.Equal(4, r.Devices);
            Assert.Equal(4, r.Updated);
            foreach (var d in fleet.Devices)
            {
                Assert.True(d.Agent.RunningVersion.SameAs(image.Version), $"device {d.NodeId} runs {d.Agent.RunningVersion}");
                Assert.True(DemoRunner.SlotMatches(d, bytes));
            }
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
