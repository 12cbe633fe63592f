namespace IotOta.Shared.Chunking
{
    /// <summary>One bit per packet of an image, bit set = held. Not thread-safe.</summary>
    public sealed class PacketBitmap
    {
        private byte[] _bits;
        private int _count;
        private int _held;

        public PacketBitmap(int count)
        {
            if (count < 0) throw new System.ArgumentOutOfRangeException("count");
            _bits = new byte[ByteLength(count)];
            _count = count;
        }

        public static int ByteLength(int count)
        {
            return (count + 7) >> 3;
        }

        public int Count { get { return _count; } }
        public int HeldCount { get { return _held; } }
        public bool IsComplete { get { return _held == _count; } }
        /// <summary>The backing bytes (ByteLength(Count) long).</summary>
        public byte[] Bytes { get { return _bits; } }

        public bool Get(int index)
        {
            if (index < 0 || index >= _count) return false;
            return (_bits[index >> 3] & (1 << (index & 7))) != 0;
        }

        /// <summary>Sets a bit; returns true when it was not set before.</summary>
        public bool Set(int index)
        {
            if (index < 0 || index >= _count) throw new System.ArgumentOutOfRangeException("index");
            int mask = 1 << (index & 7);
            if ((_bits[index >> 3] & mask) != 0) return false;
            _bits[index >> 3] = (byte)(_bits[index >> 3] | mask);
            _held++;
            return true;
        }

        public void Clear()
        {
            for (int i = 0; i < _bits.Length; i++) _bits[i] = 0;
            _held = 0;
        }

        /// <summary>Index of the first packet not held at or after start, or -1.</summary>
        public int NextMissing(int start)
        {
            for (int i = start < 0 ? 0 : start; i < _count; i++)
            {
                if ((_bits[i >> 3] & (1 << (i & 7))) == 0) return i;
            }
            return -1;
        }

        /// <summary>Writes the complement (bit set = missing) into dest; padding bits past Count stay 0.</summary>
        public void WriteMissing(byte[] dest, int offset)
        {
            for (int i = 0; i < _bits.Length; i++) dest[offset + i] = (byte)~_bits[i];
            int tail = _count & 7;
            if (tail != 0) dest[offset + _bits.Length - 1] &= (byte)((1 << tail) - 1);
        }

        /// <summary>Replaces the content from a bitmap of the same count (bit set = held).</summary>
        public void LoadFrom(byte[] src, int offset)
        {
            int held = 0;
            for (int i = 0; i < _bits.Length; i++)
            {
                byte b = src[offset + i];
                if (i == _bits.Length - 1 && (_count & 7) != 0) b &= (byte)((1 << (_count & 7)) - 1);
                _bits[i] = b;
                held += PopCount(b);
            }
            _held = held;
        }

        private static int PopCount(int b)
        {
            int c = 0;
            while (b != 0) { c += b & 1; b >>= 1; }
            return c;
        }
    }
}
