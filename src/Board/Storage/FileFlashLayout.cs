using System.IO;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.Board.Storage
{
    /// <summary>
    /// The device core's partitions on the internal file system: slot A and slot B (each holds one application
    /// bundle), the boot record and the update state, as sector files in one folder. Sizes come from the board
    /// profile's "fileStore" (boards/*.json) through <see cref="BoardSettings"/>.
    /// </summary>
    public sealed class FileFlashLayout : IFlashLayout
    {
        public const int SectorSize = 4096;
        private readonly FilePartition _a;
        private readonly FilePartition _b;

        public FileFlashLayout(string directory, int slotBytes, int stateBytes, int bootBytes)
        {
            Directory = directory;
            if (!System.IO.Directory.Exists(directory)) System.IO.Directory.CreateDirectory(directory);
            _a = new FilePartition(directory, "slota", slotBytes, SectorSize);
            _b = new FilePartition(directory, "slotb", slotBytes, SectorSize);
            BootData = new FilePartition(directory, "boot", bootBytes, SectorSize);
            UpdateState = new FilePartition(directory, "state", stateBytes, SectorSize);
        }

        public string Directory { get; private set; }
        public IFlashPartition BootData { get; private set; }
        public IFlashPartition UpdateState { get; private set; }

        public IFlashPartition Slot(int index)
        {
            if (index == 0) return _a;
            if (index == 1) return _b;
            throw new FlashException("no slot " + index);
        }
    }
}
