using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace IotOta.Board.Network
{
    /// <summary>
    /// The inbound side of the second network: one thread, one receive buffer, and at most the budget's
    /// <see cref="PeerSocketBudget.PerSide"/> peer connections held at once, within the budget it shares with the
    /// board's <see cref="PeerClient"/> (peers keep theirs open). Every round it polls the
    /// listener and each held connection and reads at most one whole frame from every connection that has data, so
    /// every connection it holds is read, in turn. When the table is full the connection idle longest is closed to
    /// admit a new one, after the frames already waiting on it were read (its peer sees the close before its next send
    /// and reconnects: <see cref="PeerClient"/>).
    /// </summary>
    public sealed class PeerServer
    {
        private readonly int _port;
        private readonly byte[] _rx;
        private readonly byte[] _len = new byte[PeerFrames.HeaderLength];
        private readonly Socket[] _conn;
        private readonly uint[] _connId;
        private readonly long[] _lastActive;
        private readonly PeerMessageHandler _handler;
        private Socket _listener;
        private bool _stopped;
        private uint _nextId;
        private long _round;

        private readonly PeerSocketBudget _budget;
        /// <summary>An inbound connection given back to the client must have carried nothing for this many rounds (at
        /// least 5 ms each when idle).</summary>
        private const int RoomIdleRounds = 20;

        /// <summary>A server with a budget of its own: <paramref name="maxConnections"/> inbound connections.</summary>
        public PeerServer(int port, int maxConnections, int maxFrame, PeerMessageHandler handler)
            : this(port, Own(maxConnections), maxFrame, handler)
        {
        }

        /// <summary>A server that shares <paramref name="budget"/> with the board's client.</summary>
        public PeerServer(int port, PeerSocketBudget budget, int maxFrame, PeerMessageHandler handler)
        {
            _port = port;
            _budget = budget;
            _rx = new byte[maxFrame];
            int n = budget.PerSide;
            _conn = new Socket[n];
            _connId = new uint[n];
            _lastActive = new long[n];
            _handler = handler;
        }

        private static PeerSocketBudget Own(int maxConnections)
        {
            if (maxConnections < 1) throw new ArgumentException("maxConnections must be at least 1");
            return new PeerSocketBudget(maxConnections + 1);
        }

        /// <summary>Connections held now.</summary>
        public int Held
        {
            get
            {
                int n = 0;
                for (int i = 0; i < _conn.Length; i++) if (_conn[i] != null) n++;
                return n;
            }
        }

        /// <summary>Frames read so far, and connections closed to make room.</summary>
        public long FramesRead { get; private set; }
        public long Evictions { get; private set; }

        public void Start()
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Any, _port));
            _listener.Listen(_conn.Length);
            new Thread(Run).Start();
        }

        private void Run()
        {
            while (!_stopped)
            {
                bool busy = false;
                try
                {
                    busy = RoundOnce();
                }
                catch (Exception)
                {
                    // a failing connection is closed inside RoundOnce; anything else: keep serving
                }
                if (!busy) Thread.Sleep(5);
            }
        }

        /// <summary>Stops serving: closes the listener and every held connection (tests; a board serves until it
        /// restarts).</summary>
        public void Stop()
        {
            _stopped = true;
            Thread.Sleep(20);
            try { _listener.Close(); } catch (Exception) { }
            for (int i = 0; i < _conn.Length; i++) Drop(i);
        }

        /// <summary>One round: admit a pending connection, then one frame from each connection with data.
        /// True when anything was read.</summary>
        public bool RoundOnce()
        {
            _round++;
            bool busy = false;
            if (_listener.Poll(0, SelectMode.SelectRead))
            {
                Socket s = _listener.Accept();
                Admit(s);
                busy = true;
            }
            if (_budget.RoomWanted)
            {
                // the client went short of sockets: give back the connection idle longest once it has been idle a while
                int idle = SocketSlots.LeastRecent(_conn, _lastActive);
                if (idle < 0) _budget.RoomGiven();
                else if (_round - _lastActive[idle] >= RoomIdleRounds)
                {
                    Evict(idle);
                    _budget.RoomGiven();
                }
            }
            for (int i = 0; i < _conn.Length; i++)
            {
                Socket c = _conn[i];
                if (c == null || !c.Poll(0, SelectMode.SelectRead)) continue;
                busy = true;
                ReadFrame(i);
            }
            return busy;
        }

        /// <summary>Reads one whole frame from connection i and hands it on; a failing or closed connection is
        /// dropped.</summary>
        private void ReadFrame(int i)
        {
            Socket c = _conn[i];
            bool ok;
            int n = 0;
            try
            {
                // readable with nothing available: the peer closed
                ok = c.Available > 0 && PeerFrames.ReadFully(c, _len, 0, PeerFrames.HeaderLength);
                if (ok)
                {
                    n = PeerFrames.ReadLength(_len);
                    ok = n > 0 && n <= _rx.Length && PeerFrames.ReadFully(c, _rx, 0, n);
                }
            }
            catch (Exception)
            {
                ok = false;
            }
            if (!ok)
            {
                Drop(i);
                return;
            }
            _lastActive[i] = _round;
            FramesRead++;
            _handler(_connId[i], _rx, 0, n);
        }

        private void Admit(Socket s)
        {
            s.ReceiveTimeout = 2000; // a frame that stalls halfway costs the others at most this
            int free = SocketSlots.Free(_conn);
            if (free < 0)
            {
                free = SocketSlots.LeastRecent(_conn, _lastActive);
                Evict(free);
            }
            if (!_budget.TryTake())
            {
                // the client holds the rest of the budget: make room on this side
                int held = SocketSlots.LeastRecent(_conn, _lastActive);
                if (held >= 0) Evict(held);
                if (!_budget.TryTake())
                {
                    _budget.CountRefusal();
                    try { s.Close(); } catch (Exception) { }
                    return;
                }
            }
            _conn[free] = s;
            _connId[free] = ++_nextId;
            _lastActive[free] = _round;
        }

        /// <summary>Closes connection i to make room. Frames its peer already sent are read first: closing a connection
        /// with unread data resets it and they would be lost, though the peer's Send returned true. (A frame written in
        /// the instant between this and the close is still lost: nanoFramework's Socket has no Shutdown to let the peer
        /// finish.)</summary>
        private void Evict(int i)
        {
            while (_conn[i] != null && Waiting(_conn[i])) ReadFrame(i);
            Drop(i);
            Evictions++;
        }

        private static bool Waiting(Socket c)
        {
            try
            {
                return c.Available > 0;
            }
            catch (Exception)
            {
                return false;
            }
        }

        private void Drop(int i)
        {
            Socket c = _conn[i];
            _conn[i] = null;
            if (c != null)
            {
                _budget.Give();
                try { c.Close(); } catch (Exception) { }
            }
        }
    }
}
