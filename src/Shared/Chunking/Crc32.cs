namespace IotOta.Shared.Chunking
{
    /// <summary>CRC-32 (IEEE 802.3, reflected, as zlib), for records in flash. Table built once.</summary>
    public static class Crc32
    {
        private static uint[] _table;

        private static uint[] Table()
        {
            if (_table != null) return _table;
            uint[] t = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            _table = t;
            return t;
        }

        public static uint Compute(byte[] data, int offset, int count)
        {
            return Update(0, data, offset, count);
        }

        /// <summary>Continues a CRC: Update(Update(0, a), b) == Compute(a + b).</summary>
        public static uint Update(uint crc, byte[] data, int offset, int count)
        {
            uint[] t = Table();
            uint c = ~crc;
            for (int i = 0; i < count; i++) c = t[(c ^ data[offset + i]) & 0xFF] ^ (c >> 8);
            return ~c;
        }
    }
}
