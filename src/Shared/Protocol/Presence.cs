namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// A device's retained status message: who it is, its group, where peers reach it, what it runs.
    /// The same message with Online = false is its MQTT last will. Optionally (devices that know their board) an
    /// 11-byte capabilities tail follows: update-slot size, largest chunk, sink mode and staging capacity, so the
    /// gateway can refuse images that do not fit and pace sequential sinks. A 24-byte presence (no tail) stays valid.
    /// </summary>
    public sealed class Presence
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;
        private WireWriter _writer;

        public const int EncodedLength = WireHeader.Length + 4 + 2 + 1 + 4 + 2 + 6 + 1;
        /// <summary>The optional tail: u32 slotSize, u32 maxChunkSize, u8 sinkMode (0 random offset, 1 sequential),
        /// u16 stagingCapacity.</summary>
        public const int CapabilitiesLength = 4 + 4 + 1 + 2;
        public const int MaxEncodedLength = EncodedLength + CapabilitiesLength;

        public uint NodeId;
        public int GroupId;
        public bool Online;
        public uint Ip;
        public int Port;
        public FirmwareVersion RunningVersion;
        public DeviceState State;
        /// <summary>True when the capabilities tail is present (parsed) or is to be written (encode).</summary>
        public bool HasCapabilities;
        /// <summary>Bytes of the inactive update slot (the largest image the device takes).</summary>
        public int SlotSize;
        /// <summary>Largest chunk the device accepts.</summary>
        public int MaxChunkSize;
        /// <summary>True when the slot takes writes in order only (packets ahead of it are staged).</summary>
        public bool SequentialSink;
        /// <summary>Packets the device's staging area holds (sequential sinks; 0 otherwise).</summary>
        public int StagingCapacity;

        public int Encode(byte[] buffer, int offset)
        {
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.Presence);
            w.WriteUInt32(NodeId);
            w.WriteUInt16(GroupId);
            w.WriteByte(Online ? (byte)1 : (byte)0);
            w.WriteUInt32(Ip);
            w.WriteUInt16(Port);
            (RunningVersion ?? FirmwareVersion.Zero).Write(w);
            w.WriteByte((byte)State);
            if (HasCapabilities)
            {
                if (SlotSize <= 0 || MaxChunkSize <= 0 || StagingCapacity < 0 || StagingCapacity > 65535)
                    throw new ProtocolException(ProtocolError.FieldOutOfRange, "presence capabilities out of range");
                w.WriteUInt32((uint)SlotSize);
                w.WriteUInt32((uint)MaxChunkSize);
                w.WriteByte(SequentialSink ? (byte)1 : (byte)0);
                w.WriteUInt16(StagingCapacity);
            }
            return w.Length;
        }

        public byte[] ToBytes()
        {
            byte[] b = new byte[HasCapabilities ? MaxEncodedLength : EncodedLength];
            Encode(b, 0);
            return b;
        }

        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.Presence);
            NodeId = r.ReadUInt32();
            if (NodeId == 0) throw WireReader.OutOfRange("presence node id", 0);
            GroupId = r.ReadUInt16();
            byte online = r.ReadByte();
            if (online > 1) throw WireReader.OutOfRange("presence online flag", online);
            Online = online == 1;
            Ip = r.ReadUInt32();
            Port = r.ReadUInt16();
            RunningVersion = FirmwareVersion.Read(r);
            byte s = r.ReadByte();
            if (s > (byte)DeviceState.RolledBack) throw WireReader.OutOfRange("device state", s);
            State = (DeviceState)s;
            HasCapabilities = false;
            SlotSize = 0;
            MaxChunkSize = 0;
            SequentialSink = false;
            StagingCapacity = 0;
            if (r.Remaining == 0) return;
            if (r.Remaining < CapabilitiesLength) throw new ProtocolException(ProtocolError.TrailingBytes, "presence: " + r.Remaining + " bytes after the state (a capabilities tail is " + CapabilitiesLength + ")");
            uint slot = r.ReadUInt32();
            if (slot == 0 || slot > 0x7FFFFFFF) throw WireReader.OutOfRange("presence slot size", slot);
            uint chunk = r.ReadUInt32();
            if (chunk == 0 || chunk > 0x7FFFFFFF) throw WireReader.OutOfRange("presence max chunk size", chunk);
            byte mode = r.ReadByte();
            if (mode > 1) throw WireReader.OutOfRange("presence sink mode", mode);
            int staging = r.ReadUInt16();
            r.ExpectEnd("presence");
            HasCapabilities = true;
            SlotSize = (int)slot;
            MaxChunkSize = (int)chunk;
            SequentialSink = mode == 1;
            StagingCapacity = staging;
        }
    }
}
