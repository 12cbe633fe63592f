namespace IotOta.Gateway.Scheduling;

/// <summary>What the gateway holds about one device's overhead, smoothed over its receipt notices.</summary>
/// <param name="OverheadMs">Smoothed time from the gateway sending an original to the device's notice arriving.</param>
/// <param name="LastOverheadMs">The latest such time.</param>
/// <param name="ForwardBytesPerSecond">Smoothed rate at which the device forwards copies (from its own clock).</param>
/// <param name="Notices">Notices counted.</param>
/// <param name="ArrivalMs">Smoothed overhead minus the device's own forwarding time: the way there and back.</param>
public sealed record DeviceOverhead(uint NodeId, double OverheadMs, double LastOverheadMs, double ForwardBytesPerSecond, long Notices, double ArrivalMs);
