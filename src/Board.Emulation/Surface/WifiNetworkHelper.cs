using System.Threading;

namespace System.Device.Wifi
{
    /// <summary>Emulates nanoFramework.System.Device.Wifi 1.5.147 WifiReconnectionKind.</summary>
    public enum WifiReconnectionKind
    {
        Automatic,
        Manual,
    }
}

namespace nanoFramework.Networking
{
    /// <summary>Emulates nanoFramework.System.Device.Wifi 1.5.147 WifiNetworkHelper: the host is on the network.</summary>
    public static class WifiNetworkHelper
    {
        public static bool ConnectDhcp(string ssid, string password,
            System.Device.Wifi.WifiReconnectionKind reconnectionKind = System.Device.Wifi.WifiReconnectionKind.Automatic,
            bool requiresDateTime = false, int wifiAdapterId = 0, CancellationToken token = default)
        {
            return true;
        }
    }
}
