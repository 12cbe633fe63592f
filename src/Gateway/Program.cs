using System.CommandLine;
using IotOta.Gateway.Demo;

var root = new RootCommand("IotOta gateway: distributes signed firmware to ESP32 fleets over MQTT and the fleet's own links");
root.Subcommands.Add(DemoCommand.Create());
return await root.Parse(args).InvokeAsync();
