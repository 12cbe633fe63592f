namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>A message the peer port sends without the whole of it in RAM: the port asks for it piece by piece
    /// (<see cref="IPeerPort.SendPieces"/>), on the sending thread, while it writes one frame.</summary>
    public interface IPeerMessage
    {
        /// <summary>Writes count bytes of the message, from byte at of it, into buffer at offset. False when the
        /// message cannot be produced any more (its packet was replaced): the port must abandon the frame (close the
        /// connection, as the frame's length was promised) and report the send as failed.</summary>
        bool ReadPiece(int at, byte[] buffer, int offset, int count);
    }
}
