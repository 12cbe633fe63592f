using IotOta.Gateway.Images;

namespace IotOta.Gateway.Serve;

/// <summary>
/// What `serve` can run beside the gateway when started from the simulation side (src/Simulation's `serve`): a virtual
/// demo fleet that trusts the gateway's key, and emulated link rates. The server host itself references no simulator;
/// without one, `serve` takes real devices only.
/// </summary>
public interface IServeSimulation
{
    /// <summary>The gateway's emulated upload limit at this rate (bytes/s): waits until so many bytes may leave.</summary>
    Func<int, CancellationToken, Task> GatewayUplink(double bytesPerSecond);

    /// <summary>Starts the virtual fleet on the broker and returns once every device is online on the gateway's
    /// destination list and knows its whole group.</summary>
    Task<IServeFleet> StartFleetAsync(ServeFleetRequest request, CancellationToken ct);
}

/// <summary>A running virtual fleet: its devices' node ids; disposing stops it.</summary>
public interface IServeFleet : IAsyncDisposable
{
    IReadOnlyList<uint> NodeIds { get; }
}

/// <summary>The fleet `serve` asks for: size, broker, where its flash files live, the key its devices trust, and link
/// rates in bytes/s (infinity = unlimited).</summary>
public sealed record ServeFleetRequest(int Devices, int Groups, string BrokerHost, int BrokerPort, string DataDir, ManifestSigner Signer,
    double DeviceUpBytesPerSecond, double DeviceDownBytesPerSecond, GatewayNode Gateway);
