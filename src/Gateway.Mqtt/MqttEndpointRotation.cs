using MQTTnet;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// Failover over a list of broker endpoints (the nodes of a cluster): the client options for each, the one to try
/// now, and a move to the next after a failed connect. A client connected to a node that goes away reconnects to the
/// same node first (it may be back at once) and then goes round the list. Thread-safe.
/// </summary>
public sealed class MqttEndpointRotation
{
    private readonly MqttClientOptions[] _options;
    private readonly IReadOnlyList<MqttEndpoint> _endpoints;
    private int _index;
    private long _switches;

    /// <param name="endpoints">tried in this order (at least one)</param>
    /// <param name="build">the client options for one endpoint (credentials, TLS, will… the same for all)</param>
    public MqttEndpointRotation(IReadOnlyList<MqttEndpoint> endpoints, Func<MqttEndpoint, MqttClientOptions> build)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(build);
        if (endpoints.Count == 0) throw new ArgumentException("at least one broker endpoint is needed", nameof(endpoints));
        _endpoints = endpoints.ToArray();
        _options = _endpoints.Select(build).ToArray();
    }

    public IReadOnlyList<MqttEndpoint> Endpoints => _endpoints;
    public MqttEndpoint Current => _endpoints[Volatile.Read(ref _index)];
    public MqttClientOptions CurrentOptions => _options[Volatile.Read(ref _index)];
    /// <summary>Times the client moved on to another endpoint.</summary>
    public long Switches => Interlocked.Read(ref _switches);

    /// <summary>After a failed connect: the next endpoint becomes current (no change with a single endpoint).</summary>
    public void Advance()
    {
        if (_options.Length < 2) return;
        int i = Volatile.Read(ref _index);
        Volatile.Write(ref _index, (i + 1) % _options.Length);
        Interlocked.Increment(ref _switches);
    }
}
