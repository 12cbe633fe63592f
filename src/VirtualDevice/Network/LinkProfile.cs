namespace IotOta.VirtualDevice.Network;

/// <summary>A device's radio link: up/down byte rates (&lt;= 0 or infinity = unlimited), a one-way latency added
/// before each peer message is delivered, and the chance (0..1) that a whole peer message is lost.</summary>
public sealed record LinkProfile(double UpBytesPerSecond, double DownBytesPerSecond, TimeSpan Latency, double LossRate)
{
    public static readonly LinkProfile Unlimited = new(double.PositiveInfinity, double.PositiveInfinity, TimeSpan.Zero, 0.0);

    public static bool IsUnlimitedRate(double bytesPerSecond) => bytesPerSecond <= 0 || double.IsInfinity(bytesPerSecond) || double.IsNaN(bytesPerSecond);

    /// <summary>A bucket for the up rate (null when unlimited), allowing bursts of <paramref name="burstBytes"/>.</summary>
    public TokenBucket? CreateUpBucket(int burstBytes = 16 * 1024, TimeProvider? time = null)
        => IsUnlimitedRate(UpBytesPerSecond) ? null : new TokenBucket(UpBytesPerSecond, burstBytes, time, creditWhileIdle: false);

    /// <summary>A bucket for the down rate (null when unlimited), allowing bursts of <paramref name="burstBytes"/>.</summary>
    public TokenBucket? CreateDownBucket(int burstBytes = 16 * 1024, TimeProvider? time = null)
        => IsUnlimitedRate(DownBytesPerSecond) ? null : new TokenBucket(DownBytesPerSecond, burstBytes, time, creditWhileIdle: false);
}
