namespace IotOta.Shared.Protocol
{
    /// <summary>Every message starts with 'I' 'O', the protocol version and the message type.</summary>
    public static class WireHeader
    {
        public const byte Magic0 = 0x49; // 'I'
        public const byte Magic1 = 0x4F; // 'O'
        /// <summary>Layout version of types 1..9 (unchanged since v1).</summary>
        public const byte Version = 1;
        /// <summary>Layout version of the control-plane messages added with protocol v2 (types 10 and up: ImageRoot,
        /// HashPiece, PieceRequest, NoticeBatch, StatusReport). A v1 decoder refuses them as UnsupportedVersion.</summary>
        public const byte Version2 = 2;
        public const int Length = 4;

        /// <summary>The version byte a message of this type carries: 1 for types 1..9, 2 from type 10 on.</summary>
        public static byte VersionOf(MessageType type)
        {
            return (byte)type >= (byte)MessageType.ImageRoot ? Version2 : Version;
        }

        public static void Write(WireWriter w, MessageType type)
        {
            w.WriteByte(Magic0);
            w.WriteByte(Magic1);
            w.WriteByte(VersionOf(type));
            w.WriteByte((byte)type);
        }

        /// <summary>Reads and checks the header; returns the message type (not checked against known types). The
        /// version byte must be the one that type carries (<see cref="VersionOf"/>).</summary>
        public static MessageType Read(WireReader r)
        {
            MessageType t = ReadUnchecked(r, out byte v);
            CheckVersion(v, t);
            return t;
        }

        /// <summary>Reads the header and checks that the message is of the expected type, then that it carries that
        /// type's layout version (so a wrong type is UnexpectedType, an old or new layout of the right type
        /// UnsupportedVersion).</summary>
        public static void Expect(WireReader r, MessageType expected)
        {
            MessageType t = ReadUnchecked(r, out byte v);
            if (t != expected)
            {
                throw new ProtocolException(ProtocolError.UnexpectedType, "expected message type " + (int)expected + " but got " + (int)t);
            }
            CheckVersion(v, t);
        }

        /// <summary>Like <see cref="Expect"/> for a decoder that reads two types (DataPacket: original or copy).</summary>
        public static MessageType ExpectEither(WireReader r, MessageType a, MessageType b)
        {
            MessageType t = ReadUnchecked(r, out byte v);
            if (t != a && t != b)
            {
                throw new ProtocolException(ProtocolError.UnexpectedType, "expected message type " + (int)a + " or " + (int)b + " but got " + (int)t);
            }
            CheckVersion(v, t);
            return t;
        }

        private static MessageType ReadUnchecked(WireReader r, out byte v)
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
            v = r.ReadByte();
            if (v != Version && v != Version2)
            {
                throw new ProtocolException(ProtocolError.UnsupportedVersion, "protocol version " + v + " is not supported (expected " + Version + " or " + Version2 + ")");
            }
            return (MessageType)r.ReadByte();
        }

        private static void CheckVersion(byte v, MessageType t)
        {
            if (v != VersionOf(t))
            {
                throw new ProtocolException(ProtocolError.UnsupportedVersion, "message type " + (int)t + " in layout version " + v + ": this side reads it in version " + VersionOf(t) + " only");
            }
        }

        /// <summary>Peeks at the type of a message without throwing; returns 0 when the header is bad.</summary>
        public static MessageType Peek(byte[] buffer, int offset, int count)
        {
            if (buffer == null || offset < 0 || count < Length || offset > buffer.Length || count > buffer.Length - offset)
            {
                return 0;
            }
            if (buffer[offset] != Magic0 || buffer[offset + 1] != Magic1 || buffer[offset + 2] != VersionOf((MessageType)buffer[offset + 3]))
            {
                return 0;
            }
            return (MessageType)buffer[offset + 3];
        }
    }
}
