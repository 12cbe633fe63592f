namespace IotOta.Board.Network
{
    /// <summary>Receives one framed peer message (DeviceAgent.OnPeerMessage); connection identifies the inbound
    /// connection it came on.</summary>
    public delegate void PeerMessageHandler(uint connection, byte[] buffer, int offset, int count);
}
