using IotOta.FaultSuite;

namespace IotOta.FaultSuite.Tests;

/// <summary>The fault suite at CI size: each scenario on its own, with a fixed seed.</summary>
public class DeviceFaultSuiteTests
{
    [Fact]
    public void Power_cuts_across_every_kind_of_flash_operation_never_brick_and_every_device_finishes_on_the_new_image()
    {
        FaultReport r = DeviceFaultSuite.Run(powerCuts: 150, forged: 0, fuzz: 0, seed: 11);
        PowerCutScenario c = r.Cuts!;
        Assert.True(c.PowerCuts >= 150);
        for (int k = 0; k < PowerCutScenario.Categories.Length; k++) Assert.True(c.CutsByCategory[k] > 0, PowerCutScenario.Categories[k]);
        Assert.Empty(c.Problems);
        Assert.Equal(0, c.Bricked);
        Assert.Equal(0, c.CorruptBoots);
        Assert.Equal(c.Devices, c.FinishedNew);
        Assert.True(c.Resumed > 0); // restarts resumed from the persisted bitmap
        Assert.Equal(0, c.RestartedFromScratch);
        Assert.True(c.ResumeSectorsCleaned > 0); // torn chunk writes were found and cleaned
        Assert.True(r.Passed);
    }

    [Fact]
    public void Forged_corrupted_and_replayed_packets_are_all_rejected_and_the_rollout_completes()
    {
        FaultReport r = DeviceFaultSuite.Run(powerCuts: 0, forged: 200, fuzz: 0, seed: 12);
        ForgeryScenario f = r.Forgery!;
        Assert.True(f.Injected >= 200);
        Assert.Equal(f.Injected, f.Rejected);
        Assert.Equal(f.Rollouts, f.Completed);
        Assert.Equal(f.Rollouts, f.MalloryQuarantined);
        Assert.Equal(0, f.RepairsAskedOfQuarantined);
        Assert.True(f.QuarantinedDrops > 0);
        Assert.True(f.StalePackets > 0);
        Assert.Empty(f.Problems);
    }

    [Fact]
    public void Fuzzed_inputs_to_every_device_parser_end_in_counted_rejections_without_crashes()
    {
        FaultReport r = DeviceFaultSuite.Run(powerCuts: 0, forged: 0, fuzz: 60_000, seed: 13);
        FuzzScenario z = r.Fuzz!;
        Assert.Equal(60_000, z.Inputs);
        Assert.Equal(0, z.Crashes);
        Assert.True(z.DecoderRejections > 10_000);
        Assert.True(z.AgentRejections > 10_000);
        Assert.True(z.MaxInputAllocBytes < 1 << 20, "one input allocated " + z.MaxInputAllocBytes + " bytes");
        Assert.True(r.Passed);
    }

    [Fact]
    public void Same_seed_gives_the_same_report()
    {
        var a = DeviceFaultSuite.Run(30, 50, 2000, 5).ToJson();
        var b = DeviceFaultSuite.Run(30, 50, 2000, 5).ToJson();
        foreach (string k in new[] { "powerCuts", "devices", "deviceLifetimes", "resumeSectorsCleaned", "forgedInjected", "quarantinedDrops", "fuzzDecoderRejections", "fuzzAgentRejections" })
            Assert.Equal(a[k], b[k]);
    }
}
