using System;
using System.Net;
using System.Net.Sockets;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.Board.Network
{
    /// <summary>
    /// The outbound side of the second network (IPeerPort): one open connection per peer, at most the budget's
    /// <see cref="PeerSocketBudget.PerSide"/> at once and within the budget it shares with the board's
    /// <see cref="PeerServer"/>; a new peer beyond either closes the connection used longest ago. A connection the
    /// peer closed (its server makes room that way) is replaced before a frame goes out on it. A send that fails closes
    /// its connection and returns false (the core then tries elsewhere or later).
    /// </summary>
    public sealed class PeerClient : IPeerPort
    {
        private readonly Socket[] _sock;
        private readonly uint[] _ip;
        private readonly int[] _port;
        private readonly long[] _used;
        private readonly byte[] _len = new byte[PeerFrames.HeaderLength];
        private readonly object _gate = new object();
        private long _sends;

        private readonly PeerSocketBudget _budget;

        /// <summary>A client with a budget of its own: <paramref name="maxConnections"/> outbound connections.</summary>
        public PeerClient(int maxConnections) : this(new PeerSocketBudget(maxConnections + 1))
        {
        }

        /// <summary>A client that shares <paramref name="budget"/> with the board's server.</summary>
        public PeerClient(PeerSocketBudget budget)
        {
            _budget = budget;
            int n = budget.PerSide;
            _sock = new Socket[n];
            _ip = new uint[n];
            _port = new int[n];
            _used = new long[n];
        }

        public int Open
        {
            get
            {
                lock (_gate)
                {
                    int n = 0;
                    for (int i = 0; i < _sock.Length; i++) if (_sock[i] != null) n++;
                    return n;
                }
            }
        }

        public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
        {
            return Frame(ip, port, count, buffer, offset, null, null);
        }

        /// <summary>One frame streamed from the device core piece by piece (a copy read from flash); a message that
        /// abandons the frame midway closes the connection, so the receiver drops the torn frame.</summary>
        public bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece)
        {
            if (message == null || piece == null || piece.Length == 0 || count < 0) return false;
            return Frame(ip, port, count, null, 0, message, piece);
        }

        /// <summary>Length, then the bytes: from buffer, or from message through piece.</summary>
        private bool Frame(uint ip, int port, int count, byte[] buffer, int offset, IPeerMessage message, byte[] piece)
        {
            lock (_gate)
            {
                _sends++;
                int i = Find(ip, port);
                if (i >= 0 && PeerClosed(_sock[i]))
                {
                    // the peer's server closed it to make room: a frame written now would be lost, with Send true
                    Close(i);
                    i = -1;
                }
                try
                {
                    if (i < 0) i = Connect(ip, port);
                    _used[i] = _sends;
                    PeerFrames.WriteLength(_len, count);
                    SendAll(_sock[i], _len, 0, PeerFrames.HeaderLength);
                    if (message == null)
                    {
                        SendAll(_sock[i], buffer, offset, count);
                        return true;
                    }
                    for (int at = 0; at < count; at += piece.Length)
                    {
                        int n = count - at < piece.Length ? count - at : piece.Length;
                        if (!message.ReadPiece(at, piece, 0, n))
                        {
                            Close(i);
                            return false;
                        }
                        SendAll(_sock[i], piece, 0, n);
                    }
                    return true;
                }
                catch (Exception)
                {
                    if (i >= 0) Close(i);
                    return false;
                }
            }
        }

        private static void SendAll(Socket s, byte[] b, int offset, int count)
        {
            while (count > 0)
            {
                int n = s.Send(b, offset, count, SocketFlags.None);
                if (n <= 0) throw new FlashException("peer send made no progress");
                offset += n;
                count -= n;
            }
        }

        /// <summary>True when the peer closed the connection (readable with nothing to read: the peer never sends on
        /// it) or it failed.</summary>
        private static bool PeerClosed(Socket s)
        {
            try
            {
                return s.Poll(0, SelectMode.SelectRead) && s.Available == 0;
            }
            catch (Exception)
            {
                return true;
            }
        }

        private int Find(uint ip, int port)
        {
            for (int i = 0; i < _sock.Length; i++)
            {
                if (_sock[i] != null && _ip[i] == ip && _port[i] == port) return i;
            }
            return -1;
        }

        private int Connect(uint ip, int port)
        {
            int slot = SocketSlots.Free(_sock);
            if (slot < 0)
            {
                slot = SocketSlots.LeastRecent(_sock, _used);
                Close(slot);
            }
            if (!_budget.TryTake())
            {
                // the server holds the rest of the budget: close this side's connection used longest ago, and ask the
                // server to give back an idle one
                _budget.AskForRoom();
                int lru = SocketSlots.LeastRecent(_sock, _used);
                if (lru >= 0) Close(lru);
                if (!_budget.TryTake())
                {
                    _budget.CountRefusal();
                    throw new FlashException("no peer socket free");
                }
            }
            Socket s;
            try
            {
                s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (Exception)
            {
                _budget.Give();
                throw;
            }
            try
            {
                s.SendTimeout = 5000;
                s.Connect(new IPEndPoint(new IPAddress(ip), port));
                s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, true);
            }
            catch (Exception)
            {
                s.Close();
                _budget.Give();
                throw;
            }
            _sock[slot] = s;
            _ip[slot] = ip;
            _port[slot] = port;
            return slot;
        }

        private void Close(int i)
        {
            Socket s = _sock[i];
            _sock[i] = null;
            if (s != null)
            {
                _budget.Give();
                try { s.Close(); } catch (Exception) { }
            }
        }
    }
}
