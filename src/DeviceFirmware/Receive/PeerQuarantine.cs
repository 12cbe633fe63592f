using IotOta.DeviceFirmware.Agent;

namespace IotOta.DeviceFirmware.Receive
{
    /// <summary>
    /// Peers that send bad packets: a small fixed table of peer senders (by SenderNode) and connections (by the
    /// adapter's connection id) with their bad-packet strikes; at the configured number of strikes an entry is
    /// quarantined: its packets are dropped unread and it is never asked for repairs. Not thread-safe: the agent
    /// guards it.
    /// </summary>
    public sealed class PeerQuarantine
    {
        public const byte Sender = 0;
        public const byte Connection = 1;
        private const int Slots = 32;

        private readonly uint[] _id = new uint[Slots];
        private readonly byte[] _kind = new byte[Slots];
        private readonly int[] _strikes = new int[Slots];
        private readonly int _limit;
        private readonly DeviceCounters _counters;
        private readonly DeviceLog _log;
        private int _used;

        public PeerQuarantine(int strikesToQuarantine, DeviceCounters counters, DeviceLog log)
        {
            _limit = strikesToQuarantine;
            _counters = counters;
            _log = log;
        }

        /// <summary>A bad packet from sender on connection (0 = unknown connection).</summary>
        public void StrikePeer(uint sender, uint connection)
        {
            Strike(Sender, sender);
            if (connection != 0) Strike(Connection, connection);
        }

        /// <summary>One bad packet from this sender/connection. A full table evicts the entry with the fewest strikes
        /// that is not quarantined; quarantined entries stay.</summary>
        public void Strike(byte kind, uint id)
        {
            int at = -1;
            for (int i = 0; i < _used; i++)
            {
                if (_kind[i] == kind && _id[i] == id) { at = i; break; }
            }
            if (at < 0)
            {
                if (_used < Slots)
                {
                    at = _used++;
                }
                else
                {
                    int fewest = int.MaxValue;
                    for (int i = 0; i < Slots; i++)
                    {
                        if (_strikes[i] < _limit && _strikes[i] < fewest) { fewest = _strikes[i]; at = i; }
                    }
                    if (at < 0) return; // every entry is quarantined already
                }
                _kind[at] = kind;
                _id[at] = id;
                _strikes[at] = 0;
            }
            _strikes[at]++;
            if (_strikes[at] == _limit)
            {
                _counters.PeersQuarantined++;
                _log.Log("quarantined " + (kind == Sender ? "sender " : "connection ") + id + " after " + _strikes[at] + " bad packets");
            }
        }

        public bool IsQuarantined(byte kind, uint id)
        {
            for (int i = 0; i < _used; i++)
            {
                if (_kind[i] == kind && _id[i] == id) return _strikes[i] >= _limit;
            }
            return false;
        }
    }
}
