using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>Connecting: subscriptions, presence, the self-test of an image on trial.</summary>
    public sealed partial class DeviceAgent
    {
        /// <summary>Called by the MQTT adapter after every (re)connect: subscribes, announces itself, and — the
        /// self-test of an image on trial — confirms the image once the gateway can be reached.</summary>
        public void OnConnected()
        {
            _mqtt.Subscribe(_topicIn);
            _mqtt.Subscribe(_topicMembers);
            _mqtt.Subscribe(_topicManifest);
            _mqtt.Subscribe(_topicTree);
            bool announced = PublishPresence();
            lock (_gate)
            {
                if (announced && _bootRec.State == BootState.Trial && !_stopped)
                {
                    _boot.Confirm(); // one marker write: a cut here leaves the image on trial or confirmed, never rolled back
                    BootRecord r = _bootRec.Clone();
                    r.State = BootState.Confirmed;
                    _bootRec = r;
                    _state = DeviceState.Updated;
                    Log("self-test passed: confirmed " + r.Version.ToString());
                }
                _progressNow = true;
            }
            if (announced) PublishPresence();
        }

        private bool PublishPresence()
        {
            lock (_publishGate)
            {
                Presence p = _presence;
                lock (_gate)
                {
                    p.NodeId = _cfg.NodeId;
                    p.GroupId = _cfg.GroupId;
                    p.Online = true;
                    p.Ip = _cfg.PeerIp;
                    p.Port = _cfg.PeerPort;
                    p.RunningVersion = _bootRec.Version;
                    p.State = _state;
                    // what the gateway needs to refuse images that do not fit and to pace a sequential sink
                    p.HasCapabilities = true;
                    p.SlotSize = _flash.Slot(1 - _bootRec.ActiveSlot).Size;
                    p.MaxChunkSize = _cfg.MaxChunkSize;
                    p.SequentialSink = _sink.SequentialOnly;
                    p.StagingCapacity = _staging == null ? 0 : (_staging.Capacity > 65535 ? 65535 : _staging.Capacity);
                }
                int n = p.Encode(_presenceBuf, 0);
                return _mqtt.Publish(_topicStatus, _presenceBuf, 0, n, true);
            }
        }

        /// <summary>The running image is on trial and its self-test failed: restart, and the bootloader logic in
        /// Start brings the previous image back (and reports RolledBack).</summary>
        public void SelfTestFailed(string why)
        {
            bool restart = false;
            lock (_gate)
            {
                if (_stopped || _bootRec.State != BootState.Trial) return;
                restart = AbandonTrial("self-test failed: " + why);
            }
            if (restart) _restart.RequestRestart();
        }

        private bool AbandonTrial(string why)
        {
            Counters.TrialsAbandoned++;
            _stopped = true;
            Log("image " + _bootRec.Version.ToString() + " on trial abandoned (" + why + "); restarting into the previous image");
            return true;
        }
    }
}
