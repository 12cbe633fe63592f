using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>Installing: the whole-image check and the boot-slot switch.</summary>
    public sealed partial class DeviceAgent
    {
        /// <summary>Verifies the whole image in the inactive slot, then switches the boot slot and restarts.</summary>
        private bool Install()
        {
            bool restart = false;
            lock (_gate)
            {
                Manifest m = _manifest;
                if (m == null || _held == null || !_held.IsComplete || _stopped) return false;
                _state = DeviceState.Verifying;
                _txIndex = -1; // the send buffer is used to read the image back
                _txLen = 0;
                _hash.ImageHashBegin();
                int step = _txBuf.Length;
                for (uint pos = 0; pos < m.ImageSize; pos += (uint)step)
                {
                    int n = (int)(m.ImageSize - pos < (uint)step ? m.ImageSize - pos : (uint)step);
                    _imageSlot.Read((int)pos, _txBuf, 0, n);
                    _hash.ImageHashAppend(_txBuf, 0, n);
                }
                _hash.ImageHashFinish(_imageHash, 0);
                for (int i = 0; i < Manifest.HashLength; i++)
                {
                    if (_imageHash[i] != m.ImageHash[i])
                    {
                        Counters.ImageVerifyFailures++;
                        _state = DeviceState.Failed;
                        _progressNow = true;
                        Log("whole-image hash does not match the manifest; not installed");
                        return true;
                    }
                }
                if (!_sink.Complete())
                {
                    Counters.ImageVerifyFailures++;
                    _state = DeviceState.Failed;
                    _progressNow = true;
                    Log("the image sink refused to complete the image; not installed");
                    return true;
                }
                _state = DeviceState.Installing;
                BootRecord r = _bootRec.Clone();
                r.PreviousVersion = r.Version;
                r.PreviousImageId = r.ImageId;
                r.ActiveSlot = 1 - r.ActiveSlot;
                r.Version = m.Version;
                r.ImageId = m.ImageId;
                r.State = BootState.Pending;
                _boot.Save(r);
                _bootRec = r;
                Counters.Installs++;
                _stopped = true;
                restart = true;
                Log("image " + m.Version.ToString() + " verified and installed in slot " + r.ActiveSlot + "; restarting");
            }
            if (restart) _restart.RequestRestart();
            return true;
        }
    }
}
