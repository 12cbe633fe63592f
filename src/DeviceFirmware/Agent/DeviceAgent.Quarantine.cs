using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>Peers that send bad packets: strikes and quarantine (a small fixed table).</summary>
    public sealed partial class DeviceAgent
    {
        private void StrikePeer(uint sender, uint connection)
        {
            Strike(0, sender);
            if (connection != 0) Strike(1, connection);
        }

        /// <summary>One bad packet from this sender/connection (under the lock). A full table evicts the entry with
        /// the fewest strikes that is not quarantined; quarantined entries stay.</summary>
        private void Strike(byte kind, uint id)
        {
            int at = -1;
            for (int i = 0; i < _qUsed; i++)
            {
                if (_qKind[i] == kind && _qId[i] == id) { at = i; break; }
            }
            if (at < 0)
            {
                if (_qUsed < QuarantineSlots)
                {
                    at = _qUsed++;
                }
                else
                {
                    int fewest = int.MaxValue;
                    for (int i = 0; i < QuarantineSlots; i++)
                    {
                        if (_qStrikes[i] < _cfg.QuarantineStrikes && _qStrikes[i] < fewest) { fewest = _qStrikes[i]; at = i; }
                    }
                    if (at < 0) return; // every entry is quarantined already
                }
                _qKind[at] = kind;
                _qId[at] = id;
                _qStrikes[at] = 0;
            }
            _qStrikes[at]++;
            if (_qStrikes[at] == _cfg.QuarantineStrikes)
            {
                Counters.PeersQuarantined++;
                Log("quarantined " + (kind == 0 ? "sender " : "connection ") + id + " after " + _qStrikes[at] + " bad packets");
            }
        }

        private bool IsQuarantined(byte kind, uint id)
        {
            for (int i = 0; i < _qUsed; i++)
            {
                if (_qKind[i] == kind && _qId[i] == id) return _qStrikes[i] >= _cfg.QuarantineStrikes;
            }
            return false;
        }

        /// <summary>True when packets from this peer node are no longer accepted (it sent bad packets repeatedly).</summary>
        public bool IsPeerQuarantined(uint nodeId)
        {
            lock (_gate) { return IsQuarantined(0, nodeId); }
        }

        /// <summary>True when packets that come on this peer connection are no longer accepted.</summary>
        public bool IsConnectionQuarantined(uint connection)
        {
            lock (_gate) { return IsQuarantined(1, connection); }
        }
    }
}
