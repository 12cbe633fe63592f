namespace IotOta.Shared.Protocol
{
    /// <summary>Little-endian, length-checked reader over a caller-owned buffer. Allocates nothing.</summary>
    public sealed class WireReader
    {
        private byte[] _buffer;
        private int _pos;
        private int _end;

        public WireReader(byte[] buffer, int offset, int count)
        {
            Reset(buffer, offset, count);
        }

        /// <summary>Resets the cached reader over this message (creating it the first time): a reusable message object
        /// parses without allocating.</summary>
        public static WireReader Reuse(ref WireReader cached, byte[] buffer, int offset, int count)
        {
            if (cached == null) cached = new WireReader(buffer, offset, count);
            else cached.Reset(buffer, offset, count);
            return cached;
        }

        public void Reset(byte[] buffer, int offset, int count)
        {
            if (buffer == null)
            {
                throw new ProtocolException(ProtocolError.Truncated, "no message bytes");
            }
            if (offset < 0 || count < 0 || offset > buffer.Length || count > buffer.Length - offset)
            {
                throw new ProtocolException(ProtocolError.LengthMismatch, "offset/count outside the buffer");
            }
            _buffer = buffer;
            _pos = offset;
            _end = offset + count;
        }

        public byte[] Buffer { get { return _buffer; } }
        public int Position { get { return _pos; } }
        public int Remaining { get { return _end - _pos; } }

        private void Need(int n, string what)
        {
            if (n < 0 || _end - _pos < n)
            {
                throw new ProtocolException(ProtocolError.Truncated, "message truncated while reading " + what + ": need " + n + " bytes, " + (_end - _pos) + " left");
            }
        }

        public byte ReadByte()
        {
            Need(1, "a byte");
            return _buffer[_pos++];
        }

        public int ReadUInt16()
        {
            Need(2, "a 16-bit field");
            int v = _buffer[_pos] | (_buffer[_pos + 1] << 8);
            _pos += 2;
            return v;
        }

        public uint ReadUInt32()
        {
            Need(4, "a 32-bit field");
            uint v = (uint)(_buffer[_pos] | (_buffer[_pos + 1] << 8) | (_buffer[_pos + 2] << 16) | (_buffer[_pos + 3] << 24));
            _pos += 4;
            return v;
        }

        public long ReadInt64()
        {
            uint lo = ReadUInt32();
            uint hi = ReadUInt32();
            return (long)(((ulong)hi << 32) | lo);
        }

        /// <summary>Skips n bytes and returns the absolute offset where they start (no copy).</summary>
        public int Skip(int n, string what)
        {
            Need(n, what);
            int at = _pos;
            _pos += n;
            return at;
        }

        public void ReadBytes(byte[] dest, int offset, int count, string what)
        {
            Need(count, what);
            System.Array.Copy(_buffer, _pos, dest, offset, count);
            _pos += count;
        }

        /// <summary>Fails when bytes are left after a complete message.</summary>
        public void ExpectEnd(string what)
        {
            if (_pos != _end)
            {
                throw new ProtocolException(ProtocolError.TrailingBytes, what + " has " + (_end - _pos) + " unexpected trailing bytes");
            }
        }

        public static ProtocolException OutOfRange(string field, long value)
        {
            return new ProtocolException(ProtocolError.FieldOutOfRange, field + " out of range: " + value);
        }
    }
}
