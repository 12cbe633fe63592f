namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>The second network: sockets between devices. The adapter frames each message, keeps connections open
    /// per peer, applies link limits, and hands every received message to DeviceAgent.OnPeerMessage.</summary>
    public interface IPeerPort
    {
        /// <summary>Sends one message to the peer at ip:port (ip as a little-endian IPv4 uint: 127.0.0.1 = 0x0100007F).
        /// Blocks while the link is busy; returns false when the peer cannot be reached.</summary>
        bool Send(uint ip, int port, byte[] buffer, int offset, int count);

        /// <summary>Sends one message of count bytes as one frame, as <see cref="Send"/> does, reading it from message
        /// piece by piece into piece (the caller's scratch, any length &gt; 0; the port fills and sends it in turn, so
        /// no buffer of the message's size exists). False when the peer cannot be reached or message abandoned it.</summary>
        bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece);
    }
}
