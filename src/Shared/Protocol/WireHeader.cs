namespace IotOta.Shared.Protocol
{
    /// <summary>Every message starts with 'I' 'O', the protocol version and the message type.</summary>
    public static class WireHeader
    {
        public const byte Magic0 = 0x49; // 'I'
        public const byte Magic1 = 0x4F; // 'O'
        public const byte Version = 1;
        public const int Length = 4;

        public static void Write(WireWriter w, MessageType type)
        {
            w.WriteByte(Magic0);
            w.WriteByte(Magic1);
            w.WriteByte(Version);
            w.WriteByte((byte)type);
        }

        /// <summary>Reads and checks the header; returns the message type (not checked against known types).</summary>
        public static MessageType Read(WireReader r)
        {
            if (r.Remaining < Length)
            {
                throw new ProtocolException(ProtocolError.Truncated, "message shorter than its 4-byte header");
            }
            byte m0 = r.ReadByte();
            byte m1 = r.ReadByte();
            if (m0 != Magic0 || m1 != Magic1)
            {
                throw new ProtocolException(ProtocolError.BadMagic, "message does not start with 'IO'");
            }
            byte v = r.ReadByte();
            if (v != Version)
            {
                throw new ProtocolException(ProtocolError.UnsupportedVersion, "protocol version " + v + " is not supported (expected " + Version + ")");
            }
            return (MessageType)r.ReadByte();
        }

        /// <summary>Reads the header and checks that the message is of the expected type.</summary>
        public static void Expect(WireReader r, MessageType expected)
        {
            MessageType t = Read(r);
            if (t != expected)
            {
                throw new ProtocolException(ProtocolError.UnexpectedType, "expected message type " + (int)expected + " but got " + (int)t);
            }
        }

        /// <summary>Peeks at the type of a message without throwing; returns 0 when the header is bad.</summary>
        public static MessageType Peek(byte[] buffer, int offset, int count)
        {
            if (buffer == null || offset < 0 || count < Length || offset > buffer.Length || count > buffer.Length - offset)
            {
                return 0;
            }
            if (buffer[offset] != Magic0 || buffer[offset + 1] != Magic1 || buffer[offset + 2] != Version)
            {
                return 0;
            }
            return (MessageType)buffer[offset + 3];
        }
    }
}
