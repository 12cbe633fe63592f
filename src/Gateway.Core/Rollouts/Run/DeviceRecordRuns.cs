using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

internal static class DeviceRecordRuns
{
    /// <summary>True when the device runs the image's version and confirmed it.</summary>
    public static bool Runs(this DeviceRecord d, FirmwareImage image) => d.Version.SameAs(image.Version) && d.State == DeviceState.Updated;

    /// <summary>True when the online device may still serve packets of the image to peers: it runs it, or it has not
    /// failed or rolled back. A device that rolled back (or failed) dropped the image it had reported holding, and a
    /// donor order for it is ignored, so the packets it "holds" by its old reports must come from someone else.</summary>
    public static bool MayDonate(this DeviceRecord d, FirmwareImage image) =>
        d.Online && (d.Runs(image) || d.State is not (DeviceState.Failed or DeviceState.RolledBack));
}
