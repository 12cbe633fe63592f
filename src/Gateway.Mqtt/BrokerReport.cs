namespace IotOta.Gateway.Mqtt;

/// <summary>
/// The first network's cost of one rollout as the broker counted it (demo, bench, API, console): bytes sent to clients
/// and received from them during the rollout, data apart from control, each as a ratio to the image, against the
/// issue #15 goal (sent ≤ 1.05 × image + 200 B per device); and the whole run (device sessions, presence, member lists
/// before the rollout included) where it was measured.
/// </summary>
public sealed record BrokerReport
{
    public required string Source { get; init; }
    public required long ImageBytes { get; init; }
    public required int Devices { get; init; }
    public required long Sent { get; init; }
    public required long Received { get; init; }
    public required long DataSent { get; init; }
    public long ControlSent => Sent - DataSent;
    public required long ControlReceived { get; init; }
    public double SentPerImage => Ratio(Sent);
    public double ReceivedPerImage => Ratio(Received);
    public double DataSentPerImage => Ratio(DataSent);
    public double ControlSentPerImage => Ratio(ControlSent);
    public double ControlReceivedPerImage => Ratio(ControlReceived);
    public double ControlSentPerDevice => Devices > 0 ? Math.Round((double)ControlSent / Devices, 1) : 0;
    public long GoalBytes => BrokerBytes.Goal(ImageBytes, Devices);
    public bool WithinGoal => Sent <= GoalBytes;
    /// <summary>From the broker's start to the end of the rollout (sessions and presence included); null when not measured.</summary>
    public long? RunSent { get; init; }
    public long? RunReceived { get; init; }
    public IReadOnlyDictionary<string, long> SentByKind { get; init; } = new SortedDictionary<string, long>();
    public IReadOnlyDictionary<string, long> ReceivedByKind { get; init; } = new SortedDictionary<string, long>();

    private double Ratio(long b) => ImageBytes > 0 ? Math.Round((double)b / ImageBytes, 4) : 0;

    public static BrokerReport From(BrokerBytes rollout, BrokerBytes? run, long imageBytes, int devices) => new()
    {
        Source = rollout.Source, ImageBytes = imageBytes, Devices = devices,
        Sent = rollout.Sent, Received = rollout.Received, DataSent = rollout.DataSent, ControlReceived = rollout.ControlReceived,
        RunSent = run?.Sent, RunReceived = run?.Received, SentByKind = rollout.SentByKind, ReceivedByKind = rollout.ReceivedByKind,
    };

    /// <summary>One line for a console: "broker sent 1.58 × image (data 1.03, control 0.55 = 5,800 B/device), received 1.11 ×; goal ≤ …".</summary>
    public string Line() =>
        $"broker sent {Sent:N0} B = {SentPerImage:0.000} × image (data {DataSentPerImage:0.000}, control {ControlSentPerImage:0.000} = {ControlSentPerDevice:N0} B/device), " +
        $"received {Received:N0} B = {ReceivedPerImage:0.000} × (control {ControlReceivedPerImage:0.000}); goal ≤ {GoalBytes:N0} B: {(WithinGoal ? "met" : "missed by " + (Sent - GoalBytes).ToString("N0") + " B")}";
}
