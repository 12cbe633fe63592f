using System.CommandLine;
using IotOta.Gateway.Cli;
using IotOta.Gateway.Serve;

var root = new RootCommand("IotOta gateway: distributes signed firmware to ESP32 fleets over MQTT and the fleet's own links (virtual fleets, the demo and scenarios: src/Simulation)");
root.Subcommands.Add(RolloutCommand.Create());
root.Subcommands.Add(KeygenCommand.Create());
root.Subcommands.Add(BundleCommand.Create());
root.Subcommands.Add(ServeCommand.Create(simulation: null));
return await root.Parse(args).InvokeAsync();
