using System.CommandLine;
using IotOta.Gateway.Serve;
using IotOta.Simulation.Cli;
using IotOta.Simulation.Demo;
using IotOta.Simulation.Serve;

// Many virtual devices share this process; keep enough pool threads for their MQTT clients.
ThreadPool.SetMinThreads(Math.Max(64, Environment.ProcessorCount * 8), 64);
var root = new RootCommand("IotOta simulation: the real gateway with virtual ESP32 fleets (demo, scenarios, fleet processes, serve with a demo fleet)");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(FleetCommand.Create());
root.Subcommands.Add(ServeCommand.Create(simulation: () => new ServeSimulation()));
return await root.Parse(args).InvokeAsync();
