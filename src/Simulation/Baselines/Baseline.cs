using IotOta.Gateway.Rollouts;

namespace IotOta.Simulation.Baselines;

/// <summary>The strategies the benchmark compares, by name: "iotota" (the scheme as built: no baseline) and the
/// baselines unicast, group-fanout and gossip.</summary>
public static class Baseline
{
    public static readonly string[] Names = ["iotota", "unicast", "group-fanout", "gossip"];

    /// <summary>The baseline of that name; null for "iotota". Throws ArgumentException for an unknown name.</summary>
    public static IBaselineStrategy? Named(string name) => name switch
    {
        "iotota" => null,
        "unicast" => new UnicastBaseline(),
        "group-fanout" => new GroupFanoutBaseline(),
        "gossip" => new GossipBaseline(),
        _ => throw new ArgumentException($"unknown strategy {name}"),
    };
}
