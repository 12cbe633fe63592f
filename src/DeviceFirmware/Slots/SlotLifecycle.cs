using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Slots
{
    /// <summary>
    /// The life of the two slots: start (acting as the bootloader: a pending image goes on trial, an image on trial
    /// that was never confirmed is rolled back), which manifests may replace the inactive slot, the install (whole-image
    /// check, boot-slot switch), the trial's confirmation and its abandonment. Owns the boot record and the device
    /// state. Not thread-safe: the agent calls it under its lock.
    /// </summary>
    public sealed class SlotLifecycle
    {
        /// <summary>Admit: the manifest may be received into the inactive slot.</summary>
        public const int Accept = 0;
        /// <summary>Admit: the running image is on trial; its rollback slot must survive until it is confirmed.</summary>
        public const int Defer = 1;
        /// <summary>Admit: this version is running already.</summary>
        public const int Running = 2;
        /// <summary>Admit: refused (see <see cref="WhyRefused"/>).</summary>
        public const int Refuse = 3;

        private readonly BootDataStore _boot;
        private readonly FirmwareVersion _factory;
        private readonly DeviceCounters _counters;
        private readonly DeviceLog _log;
        private readonly byte[] _imageHash = new byte[Manifest.HashLength];
        private BootRecord _record;

        public SlotLifecycle(IFlashPartition bootData, FirmwareVersion factoryVersion, DeviceCounters counters, DeviceLog log)
        {
            _boot = new BootDataStore(bootData);
            _factory = factoryVersion;
            _counters = counters;
            _log = log;
            State = DeviceState.Idle;
        }

        /// <summary>The boot record (null before <see cref="Boot"/>).</summary>
        public BootRecord Record { get { return _record; } }
        public DeviceState State;
        /// <summary>Why the last manifest was refused.</summary>
        public string WhyRefused { get; private set; }
        public int ActiveSlot { get { return _record == null ? 0 : _record.ActiveSlot; } }
        /// <summary>The slot a new image goes to.</summary>
        public int InactiveSlot { get { return 1 - ActiveSlot; } }
        public FirmwareVersion RunningVersion { get { return _record == null ? _factory : _record.Version; } }
        public bool OnTrial { get { return _record != null && _record.State == BootState.Trial; } }

        /// <summary>Start: reads the boot record and acts as the bootloader would.</summary>
        public void Boot()
        {
            _record = _boot.Load(_factory);
            if (_record.State == BootState.Pending)
            {
                BootRecord r = _record.Clone();
                r.State = BootState.Trial;
                _boot.Save(r);
                _record = r;
            }
            else if (_record.State == BootState.Trial)
            {
                BootRecord r = _record.Clone();
                r.ActiveSlot = 1 - r.ActiveSlot;
                r.Version = _record.PreviousVersion;
                r.ImageId = _record.PreviousImageId;
                // the other slot now holds the image that failed its trial
                r.PreviousVersion = _record.Version;
                r.PreviousImageId = _record.ImageId;
                r.State = BootState.Confirmed;
                _boot.Save(r);
                _record = r;
                State = DeviceState.RolledBack;
                _log.Log("image on trial was never confirmed: rolled back to " + r.Version.ToString());
            }
            if (_record.State == BootState.Trial) State = DeviceState.PendingConfirm;
        }

        /// <summary>May this (signature-checked) manifest replace the inactive slot? Accept, Defer, Running or Refuse.</summary>
        public int Admit(Manifest m)
        {
            WhyRefused = null;
            if (_record.State != BootState.Confirmed)
            {
                _counters.ManifestsDeferred++;
                return Defer;
            }
            if (m.ImageId == _record.PreviousImageId && _record.PreviousImageId != 0 && !m.IsRollback
                && m.Version.CompareTo(_record.Version) > 0)
            {
                WhyRefused = "image " + m.Version.ToString() + " failed its trial on this device (rolled back)";
                return Refuse;
            }
            int cmp = m.Version.CompareTo(_record.Version);
            if (cmp == 0) return Running;
            if (cmp < 0 && !m.IsRollback)
            {
                WhyRefused = "manifest " + m.Version.ToString() + " is older than running " + _record.Version.ToString() + " and not a signed rollback";
                return Refuse;
            }
            return Accept;
        }

        /// <summary>Verifies the whole image of m in slot (reading it back through buffer), completes the sink and
        /// switches the boot slot (the new image boots pending). False when the image or the sink fails (state Failed).
        /// The caller stops and restarts the device after a true.</summary>
        public bool Install(Manifest m, IFlashPartition slot, IImageSink sink, IHashPort hash, byte[] buffer)
        {
            State = DeviceState.Verifying;
            hash.ImageHashBegin();
            int step = buffer.Length;
            for (uint pos = 0; pos < m.ImageSize; pos += (uint)step)
            {
                int n = (int)(m.ImageSize - pos < (uint)step ? m.ImageSize - pos : (uint)step);
                slot.Read((int)pos, buffer, 0, n);
                hash.ImageHashAppend(buffer, 0, n);
            }
            hash.ImageHashFinish(_imageHash, 0);
            for (int i = 0; i < Manifest.HashLength; i++)
            {
                if (_imageHash[i] != m.ImageHash[i])
                {
                    _counters.ImageVerifyFailures++;
                    State = DeviceState.Failed;
                    _log.Log("whole-image hash does not match the manifest; not installed");
                    return false;
                }
            }
            if (!sink.Complete())
            {
                _counters.ImageVerifyFailures++;
                State = DeviceState.Failed;
                _log.Log("the image sink refused to complete the image; not installed");
                return false;
            }
            State = DeviceState.Installing;
            BootRecord r = _record.Clone();
            r.PreviousVersion = r.Version;
            r.PreviousImageId = r.ImageId;
            r.ActiveSlot = 1 - r.ActiveSlot;
            r.Version = m.Version;
            r.ImageId = m.ImageId;
            r.State = BootState.Pending;
            _boot.Save(r);
            _record = r;
            _counters.Installs++;
            _log.Log("image " + m.Version.ToString() + " verified and installed in slot " + r.ActiveSlot + "; restarting");
            return true;
        }

        /// <summary>The self-test of an image on trial passed (the gateway can be reached): one marker write confirms
        /// it; a cut here leaves the image on trial or confirmed, never rolled back. False when nothing is on trial.</summary>
        public bool Confirm()
        {
            if (!OnTrial) return false;
            _boot.Confirm();
            BootRecord r = _record.Clone();
            r.State = BootState.Confirmed;
            _record = r;
            State = DeviceState.Updated;
            _log.Log("self-test passed: confirmed " + r.Version.ToString());
            return true;
        }

        /// <summary>True when the image on trial has waited for its confirmation longer than timeoutMs since boot.</summary>
        public bool TrialExpired(long nowMs, long bootedAtMs, int timeoutMs)
        {
            return OnTrial && nowMs - bootedAtMs >= timeoutMs;
        }

        /// <summary>Gives up the image on trial: the caller stops and restarts; <see cref="Boot"/> then rolls back.</summary>
        public void AbandonTrial(string why)
        {
            _counters.TrialsAbandoned++;
            _log.Log("image " + _record.Version.ToString() + " on trial abandoned (" + why + "); restarting into the previous image");
        }
    }
}
