using IotOta.Gateway.Api;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Persistence;
using IotOta.Gateway.Serve;

namespace IotOta.Api.Tests;

/// <summary>A gateway of its own (embedded broker, no devices) for tests that change server-wide state: lockouts,
/// storage, settings.</summary>
public static class SmallServer
{
    public const string User = "admin", Password = "small-server-pass";

    public static Task<GatewayServer> StartAsync(LoginThrottleOptions? throttle = null, StorageOptions? storage = null, string password = Password) =>
        GatewayServer.StartAsync(new ServeOptions
        {
            Urls = $"http://127.0.0.1:{EmbeddedBroker.FreePort()}",
            Devices = 0,
            User = User,
            Password = password,
            LoginThrottle = throttle ?? new LoginThrottleOptions(),
            Storage = storage ?? StorageOptions.InMemory,
        }, null, CancellationToken.None);
}
