// nanoFramework-only (not built here): IImageSink over the In-Field-Update session (nanoFramework.Runtime.InFieldUpdate,
// MCUboot, branch develop-ifu). API names as read in its sources in 2026: UNVERIFIED until built against the package.
using IotOta.DeviceFirmware.Ports;
using nanoFramework.Runtime.InFieldUpdate;

namespace IotOta.DeviceFirmware.Board
{
    internal sealed class InFieldUpdateSink : IImageSink
    {
        private UpdateSession _session;
        private int _next;
        private int _size;

        public bool SequentialOnly { get { return true; } }
        public int NextOffset { get { return _next; } }

        public void Begin(int slot, int imageSize)
        {
            // The session always targets the secondary slot of the deployment image; `slot` is the core's bookkeeping.
            if (_session != null) _session.Abort();
            _session = UpdateManager.StartUpdateSession(ImageType.Deployment, (uint)imageSize); // erases the slot
            _next = 0;
            _size = imageSize;
        }

        /// <summary>A session does not survive a reboot: the core starts a new one and keeps what staging holds.</summary>
        public bool Resume(int slot, int imageSize, int offset)
        {
            return offset == 0 && false;
        }

        public void Write(int offset, byte[] buffer, int bufferOffset, int count)
        {
            if (_session == null) throw new FlashException("In-Field-Update session not started");
            if (offset != _next) throw new FlashException("In-Field-Update: write at " + offset + " but next is " + _next);
            _session.Write(buffer, bufferOffset, count); // appends
            _next += count;
        }

        public bool Complete()
        {
            if (_session == null || _next != _size) return false;
            return UpdateManager.CompleteUpdateSession(_session); // checks structure and SHA-256; MCUboot checks the signature at boot
        }
    }
}
