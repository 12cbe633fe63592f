// Reference stand-in for nanoFramework.System.Device.Wifi 1.5.147 (assembly System.Device.Wifi), transcribed from
// github.com/nanoframework/System.Device.Wifi at tag v1.5.147 (commit 282a906; depends on System.Net 1.11.54).
// Only the members the board program uses.
[assembly: System.Reflection.AssemblyVersion("1.5.147.0")]

namespace System.Device.Wifi
{
    // System.Device.Wifi/WifiReconnectionKind.cs:8
    public enum WifiReconnectionKind
    {
        Automatic,
        Manual,
    }
}

namespace nanoFramework.Networking
{
    // System.Device.Wifi/NetworkHelper/WifiNetworkHelper.cs:17
    public static class WifiNetworkHelper
    {
        // System.Device.Wifi/NetworkHelper/WifiNetworkHelper.cs:155 — connects with DHCP and stores the configuration
        public static bool ConnectDhcp(string ssid, string password,
            System.Device.Wifi.WifiReconnectionKind reconnectionKind = System.Device.Wifi.WifiReconnectionKind.Automatic,
            bool requiresDateTime = false, int wifiAdapterId = 0,
            System.Threading.CancellationToken token = default(System.Threading.CancellationToken)) { throw null; }
    }
}
