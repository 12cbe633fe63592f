namespace IotOta.Gateway.Scheduling;

/// <summary>
/// The Kumar–Ross lower bound on the time to distribute a file of F bytes from a server with upload u_s to N peers
/// with uploads u_i and downloads d_i: T* = max(F/u_s, F/d_min, N·F/(u_s + Σu_i)). Rates in bytes per second.
/// </summary>
public static class KumarRossBound
{
    public static double Seconds(double fileBytes, double serverUpload, IReadOnlyCollection<double> peerUploads, IReadOnlyCollection<double> peerDownloads)
    {
        if (fileBytes <= 0) throw new ArgumentOutOfRangeException(nameof(fileBytes), "file size must be positive");
        if (serverUpload <= 0) throw new ArgumentOutOfRangeException(nameof(serverUpload), "server upload must be positive");
        if (peerUploads.Count == 0) return fileBytes / serverUpload;
        if (peerDownloads.Count != peerUploads.Count) throw new ArgumentException("one download rate per peer is needed");
        double dMin = peerDownloads.Min();
        if (dMin <= 0) throw new ArgumentOutOfRangeException(nameof(peerDownloads), "download rates must be positive");
        double sumUp = peerUploads.Sum();
        return Math.Max(fileBytes / serverUpload, Math.Max(fileBytes / dMin, peerUploads.Count * fileBytes / (serverUpload + sumUp)));
    }
}
