using System.Net;

namespace IotOta.Board.Network
{
    /// <summary>The board's own IPv4 address as the core's little-endian uint (nanoFramework.System.Net 1.11.54
    /// IPAddress.GetDefaultLocalAddress: the first interface's address). Board-only: on .NET the emulation supplies
    /// this class (src/Board.Emulation), since desktop System.Net has no such member.</summary>
    public static class DefaultAddress
    {
        public static uint Get()
        {
            byte[] a = IPAddress.GetDefaultLocalAddress().GetAddressBytes();
            return (uint)(a[0] | (a[1] << 8) | (a[2] << 16) | (a[3] << 24));
        }
    }
}
