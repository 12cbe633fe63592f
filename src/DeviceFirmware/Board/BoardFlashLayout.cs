// nanoFramework-only (not built here): the core's partitions on the board. Slot reads go to the memory-mapped
// secondary slot; boot data, update state and staging are raw partitions of the IFU layout in boards/<board>.json
// (iotota_boot, iotota_state, iotota_staging). The raw-partition API (nanoFramework.System.IO.FileSystem / native
// Storage) is UNVERIFIED; a littlefs file per partition on I:\ is the fallback and changes nothing in the core.
using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Board
{
    internal sealed class BoardFlashLayout : IFlashLayout
    {
        public BoardFlashLayout()
        {
            BootData = new RawPartition("iotota_boot");
            UpdateState = new RawPartition("iotota_state");
            Staging = new RawPartition("iotota_staging");
        }

        public IFlashPartition BootData { get; private set; }
        public IFlashPartition UpdateState { get; private set; }
        public IFlashPartition Staging { get; private set; }

        public IFlashPartition Slot(int index)
        {
            return new RawPartition(index == 0 ? "deployment_primary" : "deployment_secondary");
        }
    }

    internal sealed class RawPartition : IFlashPartition
    {
        public RawPartition(string name) { Name = name; /* open the native partition handle here */ }
        public string Name { get; private set; }
        public int Size { get { throw new System.NotImplementedException("board partition API: see BoardFlashLayout"); } }
        public int SectorSize { get { return 4096; } }
        public void Erase(int offset, int length) { throw new System.NotImplementedException("board partition API"); }
        public void Write(int offset, byte[] buffer, int bufferOffset, int count) { throw new System.NotImplementedException("board partition API"); }
        public void Read(int offset, byte[] buffer, int bufferOffset, int count) { throw new System.NotImplementedException("board partition API"); }
    }
}
