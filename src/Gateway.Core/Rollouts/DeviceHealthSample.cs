using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>What the gateway knows of one device at one moment, for the health gate.</summary>
/// <param name="RunsNewImage">It announced the rollout's version with state Updated (confirmed after its self-test).</param>
/// <param name="HoldsWholeImage">Its progress reports say it holds every packet of the rollout's image.</param>
public sealed record DeviceHealthSample(uint Node, bool Online, DeviceState State, bool RunsNewImage, bool HoldsWholeImage);
