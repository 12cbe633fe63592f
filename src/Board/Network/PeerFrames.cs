using System.Net.Sockets;

namespace IotOta.Board.Network
{
    /// <summary>The second network's framing: a 4-byte little-endian length, then one protocol message
    /// (docs/protocol.md, "Second network").</summary>
    public static class PeerFrames
    {
        public const int HeaderLength = 4;

        public static void WriteLength(byte[] b, int count)
        {
            b[0] = (byte)count;
            b[1] = (byte)(count >> 8);
            b[2] = (byte)(count >> 16);
            b[3] = (byte)(count >> 24);
        }

        public static int ReadLength(byte[] b)
        {
            return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
        }

        /// <summary>Reads exactly count bytes; false when the peer closed first (a receive timeout throws).</summary>
        public static bool ReadFully(Socket s, byte[] b, int offset, int count)
        {
            while (count > 0)
            {
                int r = s.Receive(b, offset, count, SocketFlags.None);
                if (r <= 0) return false;
                offset += r;
                count -= r;
            }
            return true;
        }
    }
}
