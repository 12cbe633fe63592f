using System.CommandLine;
using System.Security.Cryptography;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;

namespace IotOta.Simulation.Cli;

/// <summary>`fleet`: runs virtual devices in this process against a broker, until Ctrl+C (run several for several processes).</summary>
public static class FleetCommand
{
    public static Command Create()
    {
        var broker = new Option<string?>("--broker") { Description = "HOST:PORT[,HOST:PORT…] of the MQTT broker or cluster (default: IotOta:Mqtt:Endpoints); credentials and TLS: IotOta:Mqtt" };
        var trust = new Option<string>("--trust") { Description = "public key (PEM) the devices trust for manifests", Required = true };
        var devices = new Option<int>("--devices") { Description = "number of devices", DefaultValueFactory = _ => 10 };
        var groups = new Option<int>("--groups") { Description = "number of groups", DefaultValueFactory = _ => 2 };
        var first = new Option<int>("--first-node") { Description = "node id of the first device (ids must be unique across processes)", DefaultValueFactory = _ => 1 };
        var dataDir = new Option<string>("--data-dir") { Description = "folder for the devices' flash files (kept across runs)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "iotota-fleet") };
        var version = new Option<string>("--factory-version") { Description = "version in slot A of a new flash", DefaultValueFactory = _ => "1.0.0" };
        var verbose = new Option<bool>("--verbose") { Description = "print device diagnostics" };
        var cmd = new Command("fleet", "Run virtual devices against an MQTT broker until interrupted") { broker, trust, devices, groups, first, dataDir, version, verbose };
        cmd.SetAction(async (parse, ct) =>
        {
            Gateway.Mqtt.MqttBrokerSettings b;
            FirmwareVersion factory;
            var verifier = new EcdsaSignatureVerifier();
            try
            {
                b = Gateway.Mqtt.MqttBrokerConfiguration.Load(parse.GetValue(broker));
                if (b.IsEmpty) throw new ArgumentException("no broker: give --broker HOST:PORT or set IotOta__Mqtt__Endpoints");
                factory = FirmwareVersion.Parse(parse.GetValue(version)!);
                string trustPath = parse.GetValue(trust)!;
                if (!File.Exists(trustPath)) throw new ArgumentException($"trusted key file not found: {trustPath}");
                using var key = ECDsa.Create();
                key.ImportFromPem(File.ReadAllText(trustPath));
                verifier.Add(1, key);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException or IOException or InvalidDataException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            Action<string>? log = parse.GetValue(verbose) ? Console.Error.WriteLine : null;
            int n = parse.GetValue(devices), g = parse.GetValue(groups), firstNode = parse.GetValue(first);
            if (n < 1 || g < 1 || g > n || firstNode < 1)
            {
                Console.Error.WriteLine("error: need --devices ≥ 1, 1 ≤ --groups ≤ --devices, --first-node ≥ 1");
                return 2;
            }
            await using var fleet = await VirtualFleet.StartAsync(n, g, b.Endpoints[0].Host, b.Endpoints[0].Port, parse.GetValue(dataDir)!, verifier,
                factoryVersion: factory, log: log, ct: ct, firstNodeId: firstNode, configure: FleetBrokerOptions.Apply(b));
            Console.WriteLine($"{n} virtual devices (nodes {firstNode}..{firstNode + n - 1}) in {g} groups connected to {b.Describe()}; Ctrl+C stops them");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        });
        return cmd;
    }
}
