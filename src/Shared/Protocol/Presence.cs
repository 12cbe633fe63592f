namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// A device's retained status message: who it is, its group, where peers reach it, what it runs.
    /// The same message with Online = false is its MQTT last will.
    /// </summary>
    public sealed class Presence
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;
        private WireWriter _writer;

        public const int EncodedLength = WireHeader.Length + 4 + 2 + 1 + 4 + 2 + 6 + 1;

        public uint NodeId;
        public int GroupId;
        public bool Online;
        public uint Ip;
        public int Port;
        public FirmwareVersion RunningVersion;
        public DeviceState State;

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
            return w.Length;
        }

        public byte[] ToBytes()
        {
            byte[] b = new byte[EncodedLength];
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
            r.ExpectEnd("presence");
        }
    }
}
