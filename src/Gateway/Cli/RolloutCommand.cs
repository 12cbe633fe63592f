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
    public sealed record Settings(string Host, int Port, string ImagePath, string KeyPath, FirmwareVersion Version, int ChunkSize,
        int WaitForDevices, bool CrossGroup, TimeSpan Timeout);

    public static Command Create()
    {
        var broker = new Option<string>("--broker") { Description = "HOST:PORT of the MQTT broker", Required = true };
        var image = new Option<string>("--image") { Description = "firmware image file", Required = true };
        var key = new Option<string>("--key") { Description = "signing key (PEM, from `keygen`)", Required = true };
        var version = new Option<string>("--version") { Description = "image version, major.minor.patch", Required = true };
        var chunk = new Option<int>("--chunk-size") { Description = "minimum-unit packet size", DefaultValueFactory = _ => 4096 };
        var wait = new Option<int>("--devices") { Description = "wait until this many devices are online before starting", DefaultValueFactory = _ => 1 };
        var perGroup = new Option<bool>("--per-group") { Description = "one original per group instead of once for the fleet" };
        var timeout = new Option<int>("--timeout-seconds") { Description = "give up after this long", DefaultValueFactory = _ => 600 };
        var cmd = new Command("rollout", "Sign an image file and roll it out to the devices on a broker") { broker, image, key, version, chunk, wait, perGroup, timeout };
        cmd.SetAction(async (parse, ct) =>
        {
            Settings s;
            try
            {
                var (host, port) = BrokerAddress.Parse(parse.GetValue(broker)!);
                s = new Settings(host, port, parse.GetValue(image)!, parse.GetValue(key)!, FirmwareVersion.Parse(parse.GetValue(version)!),
                    parse.GetValue(chunk), parse.GetValue(wait), !parse.GetValue(perGroup), TimeSpan.FromSeconds(parse.GetValue(timeout)));
                if (!File.Exists(s.ImagePath)) throw new ArgumentException($"image file not found: {s.ImagePath}");
            }
            catch (ArgumentException e)
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
                await using var gateway = MqttGatewayNode.Create(settings.Host, settings.Port, log: m => logger.LogInformation("{Message}", m));
                await gateway.StartAsync(ct);
                logger.LogInformation("Connected to {Host}:{Port}; waiting for {N} device(s)", settings.Host, settings.Port, settings.WaitForDevices);
                await gateway.WaitForDevicesAsync(settings.WaitForDevices, TimeSpan.FromMinutes(10), ct);
                var progress = new Progress<RolloutSnapshot>(p => logger.LogInformation("{Updated}/{Devices} updated, gateway {Bytes} bytes, {Done}/{Total} deliveries",
                    p.Updated, p.Devices, p.GatewayPayloadBytes, p.DeliveriesDone, p.DeliveriesTotal));
                var options = new RolloutOptions { Timeout = settings.Timeout, ProgressInterval = TimeSpan.FromSeconds(2), Scheduler = new SchedulerOptions { CrossGroup = settings.CrossGroup } };
                RolloutResult r = await gateway.RunRolloutAsync(image, options, progress, ct);
                logger.LogInformation("Rollout ended: {Updated}/{Devices} updated, {Failed} failed, gateway payload {Bytes} bytes ({Ratio:0.000}× image) in {Seconds:0.00} s",
                    r.Updated, r.Devices, r.Failed, r.GatewayPayloadBytes, (double)r.GatewayPayloadBytes / r.ImageBytes, r.Seconds);
                ExitCode = r.Failed == 0 && !r.TimedOut ? 0 : 1;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or TimeoutException or MQTTnet.Exceptions.MqttCommunicationException)
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
