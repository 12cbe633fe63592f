using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// Keeps the boot record in two sectors of the boot-data partition. A save goes to the sector that does not hold
    /// the current record, with the next sequence number, so a power cut during a save leaves the old record valid.
    /// Confirming an image on trial does not rewrite the record: it clears a marker right after the current record
    /// (one write, no erase), so a power cut during the confirmation can never look like a failed trial — any cleared
    /// marker bit counts as confirmed, and a rollback never touches the marker.
    /// </summary>
    public sealed class BootDataStore
    {
        private readonly IFlashPartition _part;
        public const int ConfirmMarkerLength = 4;
    private readonly byte[] _buf = new byte[BootRecord.EncodedLength];
    private readonly byte[] _marker = new byte[ConfirmMarkerLength];
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
            BootRecord current;
            if (b == null || (a != null && a.Sequence >= b.Sequence))
            {
                _currentSector = 0;
                current = a;
            }
            else
            {
                _currentSector = 1;
                current = b;
            }
            if (current.State == BootState.Trial && MarkerSet(_currentSector)) current.State = BootState.Confirmed;
            return current;
        }

        /// <summary>Confirms the image on trial in the current record by clearing its confirmation marker.</summary>
        public void Confirm()
        {
            if (_currentSector < 0) throw new FlashException("no boot record loaded");
            for (int i = 0; i < ConfirmMarkerLength; i++) _marker[i] = 0;
            _part.Write(_currentSector * _part.SectorSize + BootRecord.EncodedLength, _marker, 0, ConfirmMarkerLength);
        }

        private bool MarkerSet(int sector)
        {
            _part.Read(sector * _part.SectorSize + BootRecord.EncodedLength, _marker, 0, ConfirmMarkerLength);
            for (int i = 0; i < ConfirmMarkerLength; i++)
            {
                if (_marker[i] != 0xFF) return true;
            }
            return false;
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
