using System.IO;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.Board.Storage
{
    /// <summary>
    /// One of the device core's flash partitions kept as files on the board's internal file system (littlefs, drive
    /// I:\ on ESP32 — stock nanoFramework has no managed API for raw partitions): one file per 4 KB sector, named
    /// "&lt;name&gt;.&lt;sector&gt;". An erased sector is a missing file and reads as 0xFF. Write keeps NOR's rule that
    /// a write only clears bits (the stored byte becomes old AND new), which the update-state bitmap and the
    /// boot record's confirmation marker rely on. Small files keep littlefs' copy-on-write cost per write to one
    /// sector instead of the rest of the image.
    /// </summary>
    public sealed class FilePartition : IFlashPartition
    {
        private readonly string _prefix;
        private readonly int _size;
        private readonly int _sector;
        private readonly byte[] _old;
        private readonly object _gate = new object();

        /// <param name="directory">Folder, ending in its separator ("I:\\iotota\\").</param>
        public FilePartition(string directory, string name, int size, int sectorSize)
        {
            if (size <= 0 || sectorSize <= 0 || size % sectorSize != 0)
                throw new FlashException("partition " + name + ": size " + size + " is not a positive multiple of the sector size " + sectorSize);
            _prefix = directory + name + ".";
            Name = name;
            _size = size;
            _sector = sectorSize;
            _old = new byte[sectorSize];
        }

        public string Name { get; private set; }
        public int Size { get { return _size; } }
        public int SectorSize { get { return _sector; } }

        public string SectorPath(int sector)
        {
            return _prefix + (sector < 10 ? "00" : sector < 100 ? "0" : "") + sector;
        }

        public void Erase(int offset, int length)
        {
            if (offset < 0 || length < 0 || offset % _sector != 0 || length % _sector != 0 || offset + length > _size)
                throw new FlashException(Name + ": erase at " + offset + " length " + length + " is not whole sectors inside " + _size);
            lock (_gate)
            {
                for (int s = offset / _sector; s < (offset + length) / _sector; s++)
                {
                    string p = SectorPath(s);
                    if (File.Exists(p)) File.Delete(p);
                }
            }
        }

        public void Write(int offset, byte[] buffer, int bufferOffset, int count)
        {
            Check(offset, count);
            lock (_gate)
            {
                while (count > 0)
                {
                    int s = offset / _sector;
                    int at = offset % _sector;
                    int n = _sector - at < count ? _sector - at : count;
                    FileStream f = new FileStream(SectorPath(s), FileMode.OpenOrCreate, FileAccess.ReadWrite);
                    try
                    {
                        int have = (int)f.Length;
                        // what the sector holds over [at, at + n): bytes past the file's end are erased (0xFF)
                        for (int i = 0; i < n; i++) _old[i] = 0xFF;
                        if (have > at)
                        {
                            f.Seek(at, SeekOrigin.Begin);
                            ReadFully(f, _old, 0, have - at < n ? have - at : n);
                        }
                        for (int i = 0; i < n; i++) _old[i] = (byte)(_old[i] & buffer[bufferOffset + i]);
                        if (have < at)
                        {
                            // the gap before the write stays erased
                            f.Seek(have, SeekOrigin.Begin);
                            for (int i = have; i < at; i += Erased.Length) f.Write(Erased, 0, at - i < Erased.Length ? at - i : Erased.Length);
                        }
                        f.Seek(at, SeekOrigin.Begin);
                        f.Write(_old, 0, n);
                        f.Flush();
                    }
                    finally
                    {
                        f.Close();
                    }
                    offset += n;
                    bufferOffset += n;
                    count -= n;
                }
            }
        }

        public void Read(int offset, byte[] buffer, int bufferOffset, int count)
        {
            Check(offset, count);
            lock (_gate)
            {
                while (count > 0)
                {
                    int s = offset / _sector;
                    int at = offset % _sector;
                    int n = _sector - at < count ? _sector - at : count;
                    int got = 0;
                    string p = SectorPath(s);
                    if (File.Exists(p))
                    {
                        FileStream f = new FileStream(p, FileMode.Open, FileAccess.Read);
                        try
                        {
                            int have = (int)f.Length;
                            if (have > at)
                            {
                                f.Seek(at, SeekOrigin.Begin);
                                got = have - at < n ? have - at : n;
                                ReadFully(f, buffer, bufferOffset, got);
                            }
                        }
                        finally
                        {
                            f.Close();
                        }
                    }
                    for (int i = got; i < n; i++) buffer[bufferOffset + i] = 0xFF;
                    offset += n;
                    bufferOffset += n;
                    count -= n;
                }
            }
        }

        private static readonly byte[] Erased = NewErased(256);

        private static byte[] NewErased(int n)
        {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) b[i] = 0xFF;
            return b;
        }

        private void Check(int offset, int count)
        {
            if (offset < 0 || count < 0 || offset > _size - count)
                throw new FlashException(Name + ": " + count + " bytes at " + offset + " are outside its " + _size + " bytes");
        }

        private static void ReadFully(FileStream f, byte[] b, int offset, int count)
        {
            while (count > 0)
            {
                int r = f.Read(b, offset, count);
                if (r <= 0) throw new FlashException("file ended early");
                offset += r;
                count -= r;
            }
        }
    }
}
