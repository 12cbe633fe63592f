using IotOta.Gateway.Rollouts;

namespace IotOta.Gateway.Core.Tests.Rollouts;

public class RolloutOutcomeTests
{
    private static RolloutResult Result(int devices, int updated, IReadOnlyList<uint> failed, IReadOnlyList<PendingDevice> pending, bool timedOut = false) => new()
    {
        Devices = devices, Updated = updated, Failed = failed.Count, FailedDevices = failed, PendingDevices = pending, ImageBytes = 1,
        GatewayPayloadBytes = 1, OriginalsSent = 1, RelaysNamed = 0, RepairCopiesSent = 0, Reallocations = 0, Seconds = 1, TimedOut = timedOut,
    };

    private static readonly PendingDevice Away = new(7, 1, DateTimeOffset.UnixEpoch, 12);

    [Fact]
    public void Exit_codes_tell_all_updated_ended_with_pending_and_failed_apart()
    {
        Assert.Equal(RolloutOutcome.AllUpdated, Result(3, 3, [], []).Outcome);
        Assert.Equal(0, (int)Result(3, 3, [], []).Outcome);
        var pending = Result(3, 2, [], [Away], timedOut: true);
        Assert.Equal(RolloutOutcome.EndedWithPending, pending.Outcome);
        Assert.Equal(3, (int)pending.Outcome);
        Assert.Equal(1, pending.Pending);
        Assert.Equal(RolloutOutcome.Failed, Result(3, 1, [2], [Away]).Outcome); // a failure wins over pending
        Assert.Equal(1, (int)Result(3, 2, [2], []).Outcome);
        Assert.Equal(RolloutOutcome.Failed, Result(3, 2, [], [], timedOut: true).Outcome); // timed out, nothing pending
    }
}
