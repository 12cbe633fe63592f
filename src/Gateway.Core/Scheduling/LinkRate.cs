namespace IotOta.Gateway.Scheduling;

/// <summary>Link rates as the commands take them (kbit/s, 1 kbit = 1000 bit), and as the scheduler, the bound and the
/// emulated links use them (bytes/s). 0 (or less) kbit/s means unlimited: +∞ bytes/s.</summary>
public static class LinkRate
{
    public static double BytesPerSecond(double kbps) => IsLimited(kbps) ? kbps * 1000 / 8 : double.PositiveInfinity;

    /// <summary>True for a finite, positive rate.</summary>
    public static bool IsLimited(double kbps) => kbps > 0 && double.IsFinite(kbps);
}
