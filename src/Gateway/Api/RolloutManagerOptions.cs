using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Api;

/// <summary>How a <see cref="RolloutManager"/> takes images and runs rollouts.</summary>
public sealed record RolloutManagerOptions
{
    public long MaxImageBytes { get; init; } = 4 * 1024 * 1024;
    public int ChunkSize { get; init; } = 4096;
    public string DefaultBoard { get; init; } = "esp32";
    public SchedulerOptions Scheduler { get; init; } = new();
    public LinkRates? Links { get; init; }
    /// <summary>Gateway repair copies per repair request in the phase a restarted gateway resumes. Devices that waited
    /// through the gateway's downtime ask the gateway for every missing packet at once; the resumed phase plans each of
    /// those as an original anyway (one per group, copied on by the devices, whose peers answer repairs), so answering
    /// them too sends packets twice (measured with `FaultSuite fleet --scenario gateway-kill9`: 55–70 % of the image).
    /// Later phases answer repairs as usual.</summary>
    public int ResumedPhaseRepairReplies { get; init; }
    public Action<string>? Log { get; init; }
    /// <summary>The broker's byte counters now (embedded broker's interceptors, or Mosquitto's $SYS), for the views'
    /// broker bytes; null when not counted.</summary>
    public Func<IotOta.Gateway.Mqtt.BrokerBytes?>? BrokerBytes { get; init; }
    /// <summary>The clock of the health gates (install timeouts) and of the rollouts' times; null = the system clock.</summary>
    public TimeProvider? Time { get; init; }
}
