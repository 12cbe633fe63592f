using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// Keeps the boot record in two sectors of the boot-data partition. A save goes to the sector that does not hold
    /// the current record, with the next sequence number, so a power cut during a save leaves the old record valid.
    /// </summary>
    public sealed class BootDataStore
    {
        private readonly IFlashPartition _part;
        private readonly byte[] _buf = new byte[BootRecord.EncodedLength];
        private int _currentSector = -1;

        public BootDataStore(IFlashPartition partition)
        {
            if (partition.Size < 2 * partition.SectorSize) throw new FlashException("boot-data partition needs two sectors");
            _part = partition;
        }

        /// <summary>Reads the newest valid record; when there is none, writes and returns the factory record.</summary>
        public BootRecord Load(FirmwareVersion factoryVersion)
        {
            BootRecord a = ReadSector(0);
            BootRecord b = ReadSector(1);
            if (a == null && b == null)
            {
                BootRecord f = new BootRecord();
                f.ActiveSlot = 0;
                f.State = BootState.Confirmed;
                f.Version = factoryVersion;
                f.Sequence = 0;
                _currentSector = 1; // so the first save lands in sector 0
                Save(f);
                return f;
            }
            if (b == null || (a != null && a.Sequence >= b.Sequence))
            {
                _currentSector = 0;
                return a;
            }
            _currentSector = 1;
            return b;
        }

        /// <summary>Writes the record (its Sequence is set to the next number) into the other sector.</summary>
        public void Save(BootRecord record)
        {
            int target = _currentSector == 0 ? 1 : 0;
            BootRecord current = _currentSector < 0 ? null : ReadSector(_currentSector);
            record.Sequence = current == null ? record.Sequence + 1 : current.Sequence + 1;
            record.Encode(_buf, 0);
            int at = target * _part.SectorSize;
            _part.Erase(at, _part.SectorSize);
            _part.Write(at, _buf, 0, _buf.Length);
            _currentSector = target;
        }

        private BootRecord ReadSector(int sector)
        {
            _part.Read(sector * _part.SectorSize, _buf, 0, _buf.Length);
            return BootRecord.TryDecode(_buf, 0);
        }
    }
}
