using System.Net.Sockets;

namespace IotOta.Board.Network
{
    /// <summary>The slot tables of the board's peer client and server: a socket per slot (null = free) and a stamp of
    /// when it was last used.</summary>
    internal static class SocketSlots
    {
        /// <summary>The first slot with no socket, or -1 when every slot holds one.</summary>
        public static int Free(Socket[] table)
        {
            for (int i = 0; i < table.Length; i++)
            {
                if (table[i] == null) return i;
            }
            return -1;
        }

        /// <summary>The slot whose socket was used longest ago (the lowest stamp), or -1 when none holds one.</summary>
        public static int LeastRecent(Socket[] table, long[] stamps)
        {
            int least = -1;
            for (int i = 0; i < table.Length; i++)
            {
                if (table[i] != null && (least < 0 || stamps[i] < stamps[least])) least = i;
            }
            return least;
        }
    }
}
