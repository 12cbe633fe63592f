using System.CommandLine;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IotOta.Gateway.Cli;

/// <summary>
/// `rollout`: the gateway as a Generic Host service: loads an image file and a signing key, signs the manifest,
/// waits for the devices, rolls the image out over the broker, logs the result and exits.
/// </summary>
public static class RolloutCommand
{
    public sealed record Settings(MqttBrokerSettings Broker, string ImagePath, string KeyPath, FirmwareVersion Version, int ChunkSize,
        int WaitForDevices, bool CrossGroup, TimeSpan Window);

    public static Command Create()
    {
        var broker = new Option<string?>("--broker") { Description = "HOST:PORT[,HOST:PORT…] of the MQTT broker or cluster (default: IotOta:Mqtt:Endpoints); credentials and TLS: IotOta:Mqtt" };
        var image = new Option<string>("--image") { Description = "firmware image file", Required = true };
        var key = new Option<string>("--key") { Description = "signing key (PEM, from `keygen`)", Required = true };
        var version = new Option<string>("--version") { Description = "image version, major.minor.patch", Required = true };
        var chunk = new Option<int>("--chunk-size") { Description = "minimum-unit packet size", DefaultValueFactory = _ => 4096 };
        var wait = new Option<int>("--devices") { Description = "wait until this many devices are online before starting", DefaultValueFactory = _ => 1 };
        var perGroup = new Option<bool>("--per-group") { Description = "one original per group instead of once for the fleet" };
        var timeout = new Option<int?>("--timeout-seconds") { Description = "the window in seconds (older name of --window)" };
        var window = RolloutWindow.Option();
        var cmd = new Command("rollout", "Sign an image file and roll it out to the devices on a broker; exit code 0 = all updated, " +
            "3 = ended with devices pending (offline at the window's end), 1 = failed, 2 = bad input") { broker, image, key, version, chunk, wait, perGroup, timeout, window };
        cmd.SetAction(async (parse, ct) =>
        {
            Settings s;
            try
            {
                var mqtt = MqttBrokerConfiguration.Load(parse.GetValue(broker));
                if (mqtt.IsEmpty) throw new ArgumentException("no broker: give --broker HOST:PORT or set IotOta__Mqtt__Endpoints");
                s = new Settings(mqtt, parse.GetValue(image)!, parse.GetValue(key)!, FirmwareVersion.Parse(parse.GetValue(version)!),
                    parse.GetValue(chunk), parse.GetValue(wait), !parse.GetValue(perGroup),
                    parse.GetValue(window) is { } w ? RolloutWindow.Parse(w)
                    : parse.GetValue(timeout) is int t ? RolloutWindow.Parse(t.ToString(System.Globalization.CultureInfo.InvariantCulture)) : RolloutWindow.Default);
                if (!File.Exists(s.ImagePath)) throw new ArgumentException($"image file not found: {s.ImagePath}");
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            var builder = Host.CreateApplicationBuilder();
            builder.Services.AddSingleton(s);
            builder.Services.AddSingleton<RolloutService>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<RolloutService>());
            var app = builder.Build();
            var service = app.Services.GetRequiredService<RolloutService>();
            await app.RunAsync(ct); // disposes the host
            return service.ExitCode;
        });
        return cmd;
    }

    /// <summary>The hosted rollout: runs once, then stops the host.</summary>
    public sealed class RolloutService(Settings settings, ILogger<RolloutService> logger, IHostApplicationLifetime lifetime) : BackgroundService
    {
        public int ExitCode { get; private set; } = 1;

        protected override async Task ExecuteAsync(CancellationToken ct)
        {
            try
            {
                using var signer = ManifestSigner.FromPemFile(settings.KeyPath);
                byte[] bytes = await File.ReadAllBytesAsync(settings.ImagePath, ct);
                var image = FirmwareImage.Create(bytes, settings.Version, signer, settings.ChunkSize);
                logger.LogInformation("Image {Path}: {Bytes} bytes, version {Version}, {Chunks} packets, image id {Id:x8}",
                    settings.ImagePath, bytes.Length, image.Version, image.ChunkCount, image.ImageId);
                await using var gateway = MqttGatewayNode.Create(settings.Broker, log: m => logger.LogInformation("{Message}", m),
                    requiredPacketBytes: BrokerLimits.PacketBytesFor(settings.ChunkSize));
                await gateway.StartAsync(ct);
                var link = (GatewayMqttClient)gateway.Broker;
                logger.LogInformation("Connected to {Broker} ({Limits}); waiting for {N} device(s)", link.Endpoint, link.Limits, settings.WaitForDevices);
                await gateway.WaitForDevicesAsync(settings.WaitForDevices, TimeSpan.FromMinutes(10), ct);
                var progress = new Progress<RolloutSnapshot>(p => logger.LogInformation("{Updated}/{Devices} updated, {Pending} pending, gateway {Bytes} bytes, {Done}/{Total} deliveries",
                    p.Updated, p.Devices, p.Pending, p.GatewayPayloadBytes, p.DeliveriesDone, p.DeliveriesTotal));
                var options = new RolloutOptions
                {
                    Window = settings.Window, ProgressInterval = TimeSpan.FromSeconds(2), Scheduler = new SchedulerOptions { CrossGroup = settings.CrossGroup },
                };
                logger.LogInformation("Window {Window}: devices offline until it ends are pending, not failed", RolloutWindow.Format(settings.Window));
                RolloutResult r = await gateway.RunRolloutAsync(image, options, progress, ct);
                logger.LogInformation("Rollout ended: {Updated}/{Devices} updated, {Failed} failed, {Pending} pending, gateway payload {Bytes} bytes ({Ratio:0.000}× image) in {Seconds:0.00} s",
                    r.Updated, r.Devices, r.Failed, r.Pending, r.GatewayPayloadBytes, (double)r.GatewayPayloadBytes / r.ImageBytes, r.Seconds);
                foreach (var p in r.PendingDevices)
                    logger.LogWarning("Pending: device {Node} (group {Group}) offline since {LastSeen:u}, holding {Held}/{Chunks} packets",
                        p.NodeId, p.GroupId, p.LastSeen, p.HeldPackets, image.ChunkCount);
                if (r.FailedDevices.Count > 0) logger.LogWarning("Failed: {Devices}", string.Join(", ", r.FailedDevices));
                logger.LogInformation("Outcome: {Outcome} (exit code {Code})", r.Outcome switch
                {
                    RolloutOutcome.AllUpdated => "all updated",
                    RolloutOutcome.EndedWithPending => $"ended with {r.Pending} pending",
                    _ => "failed",
                }, (int)r.Outcome);
                ExitCode = (int)r.Outcome;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or TimeoutException or MQTTnet.Exceptions.MqttCommunicationException
                                           or BrokerLimitException)
            {
                logger.LogError("{Message}", e.Message);
                ExitCode = e is ArgumentException or InvalidDataException or FileNotFoundException ? 2 : 1;
            }
            finally
            {
                lifetime.StopApplication();
            }
        }
    }
}
