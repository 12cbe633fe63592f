namespace IotOta.Board.Network
{
    /// <summary>Stands in for src/Board/Network/DefaultAddress.cs (IPAddress.GetDefaultLocalAddress is
    /// nanoFramework-only): every emulated board is on 127.0.0.1, told apart by its peer port.</summary>
    public static class DefaultAddress
    {
        public static uint Get()
        {
            return 0x0100007F;
        }
    }
}
