using IotOta.Gateway.Rollouts;

namespace IotOta.Simulation.Baselines;

/// <summary>The strategies the benchmark compares, by name: "iotota" (the scheme as built: no baseline) and the
/// baselines unicast, group-fanout and gossip.</summary>
public static class Baseline
{
    public static readonly string[] Names = ["iotota", "unicast", "group-fanout", "gossip"];

    /// <summary>The baseline of that name; null for "iotota". Throws ArgumentException for an unknown name.
    /// <paramref name="brokerUplink"/> (waits until so many bytes may leave the broker for the fleet; null = unlimited)
    /// paces group fan-out.</summary>
    public static IBaselineStrategy? Named(string name, Func<int, CancellationToken, Task>? brokerUplink = null) => name switch
    {
        "iotota" => null,
        "unicast" => new UnicastBaseline(),
        "group-fanout" => new GroupFanoutBaseline(brokerUplink),
        "gossip" => new GossipBaseline(),
        _ => throw new ArgumentException($"unknown strategy {name}"),
    };
}
