namespace IotOta.Board.Network
{
    /// <summary>
    /// The board's socket budget for the second network, shared by its <see cref="PeerClient"/> (outbound) and
    /// <see cref="PeerServer"/> (inbound): at most <see cref="Limit"/> peer connections open at once, in and out together,
    /// as the presence announces it and as lwIP's fixed socket table allows (ESP-IDF's CONFIG_LWIP_MAX_SOCKETS, 10 by
    /// default, shared with MQTT, DNS and the listener). Each side holds at most <see cref="PerSide"/> (Limit − 1), so when
    /// the budget is full the side that needs a socket always holds one of its own to close (its longest-idle): no side
    /// can starve the other (a copy tree needs one in from its parent and some out to its children). A limit below 2 is
    /// taken as 2. Thread-safe; no generics (nanoFramework).
    /// </summary>
    public sealed class PeerSocketBudget
    {
        private readonly object _gate = new object();
        private readonly int _limit;
        private int _open;
        private long _refused;

        public PeerSocketBudget(int limit)
        {
            _limit = limit < 2 ? 2 : limit;
        }

        /// <summary>Most peer connections open at once, in and out together.</summary>
        public int Limit { get { return _limit; } }

        /// <summary>Most connections one side (client or server) holds.</summary>
        public int PerSide { get { return _limit - 1; } }

        /// <summary>Connections open now, both sides.</summary>
        public int Open
        {
            get { lock (_gate) return _open; }
        }

        /// <summary>Connections refused because the budget was full and the side had none of its own to close.</summary>
        public long Refused
        {
            get { lock (_gate) return _refused; }
        }

        /// <summary>Takes a socket for a new connection; false when the budget is full.</summary>
        public bool TryTake()
        {
            lock (_gate)
            {
                if (_open >= _limit) return false;
                _open++;
                return true;
            }
        }

        /// <summary>A connection taken with <see cref="TryTake"/> closed.</summary>
        public void Give()
        {
            lock (_gate)
            {
                if (_open > 0) _open--;
            }
        }

        private bool _roomWanted;

        /// <summary>The client found the budget full and closed one of its own connections to go out: the server closes
        /// an idle inbound connection as soon as one has been idle a while (<see cref="RoomWanted"/>), so idle peers that keep their
        /// connections open cannot squeeze the device's copies to one outbound socket.</summary>
        public void AskForRoom()
        {
            lock (_gate) _roomWanted = true;
        }

        /// <summary>True from <see cref="AskForRoom"/> until <see cref="RoomGiven"/>, or until the budget has room again.</summary>
        public bool RoomWanted
        {
            get
            {
                lock (_gate)
                {
                    if (_open < _limit) _roomWanted = false;
                    return _roomWanted;
                }
            }
        }

        /// <summary>The server gave a connection back (or holds none to give).</summary>
        public void RoomGiven()
        {
            lock (_gate) _roomWanted = false;
        }

        /// <summary>Counts a connection refused for want of a socket.</summary>
        public void CountRefusal()
        {
            lock (_gate) _refused++;
        }
    }
}
