using System.CommandLine;
using IotOta.Gateway.Cli;
using IotOta.Gateway.Demo;
using IotOta.Gateway.Serve;

// Many virtual devices share this process; keep enough pool threads for their MQTT clients.
ThreadPool.SetMinThreads(Math.Max(64, Environment.ProcessorCount * 8), 64);
var root = new RootCommand("IotOta gateway: distributes signed firmware to ESP32 fleets over MQTT and the fleet's own links");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(RolloutCommand.Create());
root.Subcommands.Add(FleetCommand.Create());
root.Subcommands.Add(KeygenCommand.Create());
root.Subcommands.Add(BundleCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
return await root.Parse(args).InvokeAsync();
