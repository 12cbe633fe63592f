using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

internal static class DeviceRecordRuns
{
    /// <summary>True when the device runs the image's version and confirmed it.</summary>
    public static bool Runs(this DeviceRecord d, FirmwareImage image) => d.Version.SameAs(image.Version) && d.State == DeviceState.Updated;
}
