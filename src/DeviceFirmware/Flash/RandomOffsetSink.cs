using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>The random-offset sink: writes each packet at its offset into the slot partition (NOR rules apply,
    /// so a slot is erased once per image). This is what the core always did.</summary>
    public sealed class RandomOffsetSink : IImageSink
    {
        private readonly IFlashLayout _layout;
        private IFlashPartition _slot;

        public RandomOffsetSink(IFlashLayout layout)
        {
            _layout = layout;
        }

        public bool SequentialOnly { get { return false; } }
        public int NextOffset { get { return 0; } }

        public void Begin(int slot, int imageSize)
        {
            _slot = _layout.Slot(slot);
            int sector = _slot.SectorSize;
            int eraseLen = (int)(((long)imageSize + sector - 1) / sector) * sector;
            _slot.Erase(0, eraseLen);
        }

        public bool Resume(int slot, int imageSize, int offset)
        {
            _slot = _layout.Slot(slot);
            return true;
        }

        public void Write(int offset, byte[] buffer, int bufferOffset, int count)
        {
            if (_slot == null) throw new FlashException("image sink written before Begin or Resume");
            _slot.Write(offset, buffer, bufferOffset, count);
        }

        public bool Complete()
        {
            return true;
        }
    }
}
