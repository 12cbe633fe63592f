using IotOta.Gateway;

namespace IotOta.Architecture.Tests;

/// <summary>The dependency rule holds for every project under src/ and for the built gateway core; and the rule itself
/// catches a forbidden reference (it is not vacuous).</summary>
public sealed class DependencyRuleTests
{
    private static readonly string Root = ProjectFile.RepositoryRoot();

    [Fact]
    public void Every_project_under_src_keeps_the_dependency_rule()
    {
        var projects = ProjectFile.UnderSrc(Root);
        Assert.Contains(projects, p => p.Folder == "src/Gateway.Core");
        Assert.Contains(projects, p => p.Folder == "src/Simulation");
        var violations = projects.SelectMany(DependencyRule.Violations).ToList();
        Assert.True(violations.Count == 0, "dependency rule broken:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_gateway_core_assembly_references_no_adapter_host_or_simulator()
    {
        var refs = typeof(GatewayNode).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("IotOta.Shared", refs);
        var bad = refs.Where(r => DependencyRule.ForbiddenInCore.Any(f => r.StartsWith(f, StringComparison.OrdinalIgnoreCase))).ToList();
        Assert.True(bad.Count == 0, "IotOta.Gateway.Core references " + string.Join(", ", bad));
    }

    [Fact]
    public void No_production_assembly_references_the_simulation_side()
    {
        foreach (var asm in new[] { typeof(GatewayNode).Assembly, typeof(Gateway.Serve.GatewayServer).Assembly, typeof(DeviceFirmware.Agent.DeviceAgent).Assembly })
        {
            var bad = asm.GetReferencedAssemblies().Select(a => a.Name!)
                .Where(n => n.StartsWith("IotOta.VirtualDevice", StringComparison.Ordinal) || n.StartsWith("IotOta.Simulation", StringComparison.Ordinal)).ToList();
            Assert.True(bad.Count == 0, $"{asm.GetName().Name} references {string.Join(", ", bad)}");
        }
    }

    [Theory]
    [InlineData("src/Gateway.Core", "src/VirtualDevice", null)]
    [InlineData("src/Gateway.Core", "src/Gateway.Mqtt", null)]
    [InlineData("src/Gateway", "src/Simulation", null)]
    [InlineData("src/DeviceFirmware", "src/Gateway.Core", null)]
    [InlineData("src/Gateway.Core", null, "MQTTnet")]
    [InlineData("src/Gateway.Core", null, "Microsoft.Data.Sqlite")]
    [InlineData("src/Gateway.Persistence", null, "Spectre.Console")]
    [InlineData("src/Board.App", "src/Simulation", null)]
    public void A_forbidden_reference_is_reported(string folder, string? project, string? package)
    {
        var p = new ProjectFile(folder, "Microsoft.NET.Sdk", project == null ? [] : [project], package == null ? [] : [package], []);
        var v = Assert.Single(DependencyRule.Violations(p));
        Assert.Contains(project ?? package!, v);
    }

    [Fact]
    public void A_web_sdk_in_the_core_is_reported()
    {
        var p = new ProjectFile("src/Gateway.Core", "Microsoft.NET.Sdk.Web", ["src/Shared"], [], []);
        Assert.Contains("ASP.NET Core", Assert.Single(DependencyRule.Violations(p)));
    }

    [Fact]
    public void The_simulation_side_may_use_anything()
    {
        var p = new ProjectFile("src/Simulation", "Microsoft.NET.Sdk", ["src/Gateway", "src/VirtualDevice", "src/Gateway.Core"], ["MQTTnet", "Spectre.Console"], ["Microsoft.AspNetCore.App"]);
        Assert.Empty(DependencyRule.Violations(p));
    }
}
