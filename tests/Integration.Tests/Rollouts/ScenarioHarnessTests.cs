using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>The device test harness: the smallest scenario file runs against virtual devices (a power cut included)
/// and its expectations hold; a core heap budget that is too small fails the run with a clear message.</summary>
[Collection("rollouts")]
public sealed class ScenarioHarnessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_smoke_scenario_runs_with_its_power_cut_and_passes()
    {
        var s = Scenario.Load(Path.Combine(RepoRoot(), "scenarios", "smoke.json"));
        var r = await ScenarioRunner.RunAsync(s, null, CancellationToken.None);
        foreach (var c in r.Checks) output.WriteLine($"{c.Name}: {c.Passed} {c.Detail}");
        foreach (var f in r.Faults) output.WriteLine(f);
        Assert.Equal("smoke", r.Scenario);
        Assert.Equal(["PowerCut of 3 at 40 % for 1 s"], r.Faults);
        Assert.True(r.Passed, string.Join("; ", r.Checks.Where(c => !c.Passed).Select(c => c.Detail)));
        Assert.Equal(6, r.Summary.Updated);
        Assert.Equal(6, r.Summary.SlotsVerified);
        Assert.All(r.Summary.Boards, b =>
        {
            Assert.InRange(b.StagingHighWater, 1, b.StagingCapacity * 3 / 4);
            Assert.InRange(b.CorePeakHeapBytes, 1, b.CoreHeapBudget);
        });
    }

    [Fact]
    public async Task A_too_small_core_heap_budget_fails_the_run_with_a_clear_message()
    {
        var s = await DemoRunner.RunAsync(new DemoOptions
        {
            Devices = 2,
            Groups = 1,
            ImageSize = 32 * 1024,
            Boards = ["esp32-c3"],
            CoreHeapBudget = 4096,
            Timeout = TimeSpan.FromSeconds(8), // the stopped cores never finish: the rollout runs into its timeout
        }, null, null, CancellationToken.None);
        foreach (var e in s.Errors) output.WriteLine(e);
        Assert.Equal(0, s.Updated);
        Assert.Equal(2, s.Failed);
        Assert.Equal(2, s.Errors.Count);
        Assert.Matches(@"^device \d \(esp32-c3\): device core heap \d+ B \(retained \d+ B \+ largest call \d+ B, (none|tick|pump|connect|(MQTT|peer) message( type \d+)?)\) exceeds the board's coreHeapBudget of 4096 B in the (receive|install|boot-after-install) phase$", s.Errors[0]);
        var b = Assert.Single(s.Boards);
        Assert.Equal(2, b.OverBudget);
        Assert.Equal(4096, b.CoreHeapBudget);
        Assert.True(b.CorePeakHeapBytes > 4096);
    }

    [Fact]
    public void A_scenario_with_an_unknown_field_or_a_device_outside_the_fleet_is_refused()
    {
        var typo = Assert.Throws<ArgumentException>(() => Scenario.Parse("""{ "name": "x", "devicez": 4 }""", "typo.json"));
        Assert.Contains("typo.json", typo.Message);
        Assert.Contains("devicez", typo.Message);
        var outside = Assert.Throws<ArgumentException>(() => Scenario.Parse(
            """{ "name": "x", "devices": 4, "groups": 2, "faults": [ { "kind": "power-cut", "devices": [5] } ] }""", "f.json"));
        Assert.Equal("f.json: faults[0]: device 5 is not in the fleet (node ids 1..4)", outside.Message);
        var kind = Assert.Throws<ArgumentException>(() => Scenario.Parse(
            """{ "name": "x", "faults": [ { "kind": "meteor", "devices": [1] } ] }""", "k.json"));
        Assert.Contains("k.json", kind.Message);
    }

    [Fact]
    public void Every_shipped_scenario_parses()
    {
        var files = Directory.GetFiles(Path.Combine(RepoRoot(), "scenarios"), "*.json");
        Assert.True(files.Length >= 3);
        foreach (var f in files) Assert.Equal(Path.GetFileNameWithoutExtension(f), Scenario.Load(f).Name);
    }

    private static string RepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "scenarios")) && File.Exists(Path.Combine(d.FullName, "IotOta.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("no scenarios/ folder above " + AppContext.BaseDirectory);
    }
}
