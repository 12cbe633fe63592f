namespace IotOta.Shared.Protocol
{
    /// <summary>Little-endian writer into a caller-owned buffer. Allocates nothing; throws when the buffer is full.</summary>
    public sealed class WireWriter
    {
        private byte[] _buffer;
        private int _start;
        private int _end;
        private int _pos;

        public WireWriter(byte[] buffer, int offset, int count)
        {
            Reset(buffer, offset, count);
        }

        public WireWriter(byte[] buffer) : this(buffer, 0, buffer.Length)
        {
        }

        /// <summary>Resets the cached writer over this buffer (creating it the first time): a reusable message object
        /// encodes without allocating.</summary>
        public static WireWriter Reuse(ref WireWriter cached, byte[] buffer, int offset, int count)
        {
            if (cached == null) cached = new WireWriter(buffer, offset, count);
            else cached.Reset(buffer, offset, count);
            return cached;
        }

        public void Reset(byte[] buffer, int offset, int count)
        {
            _buffer = buffer;
            _start = offset;
            _end = offset + count;
            _pos = offset;
        }

        public byte[] Buffer { get { return _buffer; } }
        public int Start { get { return _start; } }
        /// <summary>Bytes written so far.</summary>
        public int Length { get { return _pos - _start; } }
        public int Position { get { return _pos; } }

        private void Ensure(int n)
        {
            if (_pos + n > _end)
            {
                throw new ProtocolException(ProtocolError.BufferTooSmall, "output buffer too small: need " + (Length + n) + " bytes, have " + (_end - _start));
            }
        }

        public void WriteByte(byte v)
        {
            Ensure(1);
            _buffer[_pos++] = v;
        }

        public void WriteUInt16(int v)
        {
            Ensure(2);
            _buffer[_pos++] = (byte)v;
            _buffer[_pos++] = (byte)(v >> 8);
        }

        public void WriteUInt32(uint v)
        {
            Ensure(4);
            _buffer[_pos++] = (byte)v;
            _buffer[_pos++] = (byte)(v >> 8);
            _buffer[_pos++] = (byte)(v >> 16);
            _buffer[_pos++] = (byte)(v >> 24);
        }

        public void WriteInt64(long v)
        {
            WriteUInt32((uint)v);
            WriteUInt32((uint)(v >> 32));
        }

        public void WriteBytes(byte[] src, int offset, int count)
        {
            Ensure(count);
            System.Array.Copy(src, offset, _buffer, _pos, count);
            _pos += count;
        }

        /// <summary>Advances past n bytes the caller fills itself; returns the absolute offset where they start.</summary>
        public int Reserve(int n)
        {
            Ensure(n);
            int at = _pos;
            _pos += n;
            return at;
        }
    }
}
