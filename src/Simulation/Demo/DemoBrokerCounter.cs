using IotOta.Gateway.Mqtt;

namespace IotOta.Simulation.Demo;

/// <summary>The demo's broker byte counting: the embedded broker's interceptors, or an external broker's $SYS byte
/// counters (Mosquitto); none for an external broker without them. Snapshots at the broker's start (embedded),
/// right before the rollout and at its end.</summary>
internal sealed class DemoBrokerCounter : IAsyncDisposable
{
    private readonly EmbeddedBrokerMeter? _embedded;
    private readonly MosquittoSysMeter? _sys;
    private readonly Func<long> _dataSent;
    private readonly BrokerBytes? _start;
    private BrokerBytes? _before;

    private DemoBrokerCounter(EmbeddedBrokerMeter? embedded, MosquittoSysMeter? sys, Func<long> dataSent, BrokerBytes? start)
    {
        _embedded = embedded;
        _sys = sys;
        _dataSent = dataSent;
        _start = start;
    }

    public static DemoBrokerCounter ForEmbedded(EmbeddedBroker broker) =>
        new(new EmbeddedBrokerMeter(broker.Server), null, () => 0, null);

    public static async Task<DemoBrokerCounter> ForExternalAsync(string host, int port, Func<long> dataSent, CancellationToken ct)
    {
        var sys = await MosquittoSysMeter.StartAsync(host, port, TimeSpan.FromSeconds(3), ct);
        BrokerBytes? start = sys == null ? null : await sys.SnapshotAsync(0, ct);
        return new DemoBrokerCounter(null, sys, dataSent, start);
    }

    private async Task<BrokerBytes?> ReadAsync(CancellationToken ct) =>
        _embedded != null ? _embedded.Snapshot() : _sys != null ? await _sys.SnapshotAsync(_dataSent(), ct) : null;

    public async Task RolloutStartsAsync(CancellationToken ct) => _before = await ReadAsync(ct);

    public async Task<BrokerReport?> RolloutEndedAsync(long imageBytes, int devices, CancellationToken ct)
    {
        if (await ReadAsync(ct) is not { } after || _before == null) return null;
        BrokerBytes? run = _start != null ? after.Since(_start) : _embedded != null ? after : null;
        return BrokerReport.From(after.Since(_before), run, imageBytes, devices);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sys != null) await _sys.DisposeAsync();
    }
}
