namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>
    /// One flash partition with NOR rules: Erase works on whole sectors (offset and length sector-aligned) and sets
    /// bytes to 0xFF; Write may only clear bits (1→0) — writing over programmed bytes without erasing first is an error.
    /// Implementations throw FlashException on a rule violation. Must be safe to call from several threads.
    /// </summary>
    public interface IFlashPartition
    {
        string Name { get; }
        int Size { get; }
        int SectorSize { get; }
        void Erase(int offset, int length);
        void Write(int offset, byte[] buffer, int bufferOffset, int count);
        void Read(int offset, byte[] buffer, int bufferOffset, int count);
    }
}
