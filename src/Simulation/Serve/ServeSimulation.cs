using IotOta.Gateway.Serve;
using IotOta.Shared.Protocol;
using IotOta.Simulation.Fleet;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;

namespace IotOta.Simulation.Serve;

/// <summary>What `serve` runs from the simulation side: a virtual fleet on factory version 1.0.0 that trusts the
/// gateway's key, on emulated links, and the gateway's emulated uplink. <see cref="Fleet"/> is the last fleet started.</summary>
public sealed class ServeSimulation : IServeSimulation
{
    /// <summary>`serve` with a small virtual fleet on known emulated link rates (a rollout takes a moment, so pause has
    /// something to pause, and the bound is computed), state in memory, the API on a free loopback port: what the API
    /// and console tests run.</summary>
    public static ServeOptions SmallFleet(string user, string password, int devices = 6, int groups = 3) => new()
    {
        Urls = $"http://127.0.0.1:{Gateway.Mqtt.EmbeddedBroker.FreePort()}",
        Devices = devices,
        Groups = groups,
        Simulation = new ServeSimulation(),
        User = user,
        Password = password,
        GatewayUpKbps = 4000,
        DeviceUpKbps = 8000,
        DeviceDownKbps = 16000,
        Storage = Gateway.Persistence.StorageOptions.InMemory,
    };

    /// <summary>The virtual fleet once started (null before).</summary>
    public VirtualFleet? Fleet { get; private set; }

    public Func<int, CancellationToken, Task> GatewayUplink(double bytesPerSecond) => new TokenBucket(bytesPerSecond, 16 * 1024).ConsumeAsync;

    public async Task<IServeFleet> StartFleetAsync(ServeFleetRequest r, CancellationToken ct)
    {
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(r.Signer.KeyId, r.Signer.PublicKey());
        var link = new LinkProfile(r.DeviceUpBytesPerSecond, r.DeviceDownBytesPerSecond, TimeSpan.Zero, 0);
        var fleet = await VirtualFleet.StartAsync(r.Devices, r.Groups, r.BrokerHost, r.BrokerPort, r.DataDir, verifier, _ => link,
            new FirmwareVersion(1, 0, 0), null, ct);
        try
        {
            await r.Gateway.WaitForDevicesAsync(r.Devices, TimeSpan.FromSeconds(60), ct);
            await MemberLists.WaitCompleteAsync(fleet.Devices, TimeSpan.FromSeconds(10), ct);
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
        Fleet = fleet;
        return new Started(fleet);
    }

    private sealed class Started(VirtualFleet fleet) : IServeFleet
    {
        public IReadOnlyList<uint> NodeIds => fleet.Devices.Select(d => d.NodeId).ToList();

        public ValueTask DisposeAsync() => fleet.DisposeAsync();
    }
}
