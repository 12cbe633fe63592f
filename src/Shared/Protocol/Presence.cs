namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// A device's retained status message: who it is, its group, where peers reach it, what it runs.
    /// The same message with Online = false is its MQTT last will. Optionally (devices that know their board) an
    /// 11-byte capabilities tail follows: update-slot size, largest chunk, sink mode and staging capacity, so the
    /// gateway can refuse images that do not fit and pace sequential sinks. A 24-byte presence (no tail) stays valid.
    /// After the capabilities a 3-byte peer-budget tail may follow (issue #14 item 8): how many members the device's
    /// member list can name and how many peer connections it may hold, so the gateway can refuse a fleet shape the
    /// board cannot take part in before a rollout starts. A 35-byte presence (capabilities only) stays valid.
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
        /// <summary>The optional second tail, only after the capabilities: u16 maxMembers (1..65535), u8
        /// maxPeerConnections (0 = no limit).</summary>
        public const int PeerBudgetLength = 2 + 1;
        public const int MaxEncodedLength = EncodedLength + CapabilitiesLength + PeerBudgetLength;

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
        /// <summary>True when the peer-budget tail is present (parsed) or is to be written (encode; needs
        /// <see cref="HasCapabilities"/>).</summary>
        public bool HasPeerBudget;
        /// <summary>The most members the device's member list can name.</summary>
        public int MaxMembers;
        /// <summary>The most peer connections (in and out together) the device may hold; 0 = no limit.</summary>
        public int MaxPeerConnections;

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
            if (HasPeerBudget)
            {
                if (!HasCapabilities || MaxMembers < 1 || MaxMembers > 65535 || MaxPeerConnections < 0 || MaxPeerConnections > 255)
                    throw new ProtocolException(ProtocolError.FieldOutOfRange, "presence peer budget out of range (or without capabilities)");
                w.WriteUInt16(MaxMembers);
                w.WriteByte((byte)MaxPeerConnections);
            }
            return w.Length;
        }

        public byte[] ToBytes()
        {
            byte[] b = new byte[EncodedLength + (HasCapabilities ? CapabilitiesLength : 0) + (HasPeerBudget ? PeerBudgetLength : 0)];
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
            HasPeerBudget = false;
            MaxMembers = 0;
            MaxPeerConnections = 0;
            if (r.Remaining == 0) return;
            if (r.Remaining != CapabilitiesLength && r.Remaining != CapabilitiesLength + PeerBudgetLength)
                throw new ProtocolException(ProtocolError.TrailingBytes, "presence: " + r.Remaining + " bytes after the state (a capabilities tail is " + CapabilitiesLength + ", with the peer budget " + (CapabilitiesLength + PeerBudgetLength) + ")");
            uint slot = r.ReadUInt32();
            if (slot == 0 || slot > 0x7FFFFFFF) throw WireReader.OutOfRange("presence slot size", slot);
            uint chunk = r.ReadUInt32();
            if (chunk == 0 || chunk > 0x7FFFFFFF) throw WireReader.OutOfRange("presence max chunk size", chunk);
            byte mode = r.ReadByte();
            if (mode > 1) throw WireReader.OutOfRange("presence sink mode", mode);
            int staging = r.ReadUInt16();
            int members = 0, peers = 0;
            bool budget = r.Remaining > 0;
            if (budget)
            {
                members = r.ReadUInt16();
                if (members == 0) throw WireReader.OutOfRange("presence max members", 0);
                peers = r.ReadByte();
            }
            r.ExpectEnd("presence");
            HasCapabilities = true;
            SlotSize = (int)slot;
            MaxChunkSize = (int)chunk;
            SequentialSink = mode == 1;
            StagingCapacity = staging;
            HasPeerBudget = budget;
            MaxMembers = members;
            MaxPeerConnections = peers;
        }
    }
}
