using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// The boot-data record: which slot boots, in what state, and what runs there (and ran in the other slot).
    /// Stored twice with a sequence number and a CRC, like ESP-IDF's otadata.
    /// </summary>
    public sealed class BootRecord
    {
        public const uint Magic = 0x52424F49; // "IOBR"
        public const int EncodedLength = 4 + 4 + 1 + 1 + 6 + 4 + 6 + 4 + 4;

        public uint Sequence;
        public int ActiveSlot;
        public BootState State;
        public FirmwareVersion Version = FirmwareVersion.Zero;
        public uint ImageId;
        public FirmwareVersion PreviousVersion = FirmwareVersion.Zero;
        public uint PreviousImageId;

        public BootRecord Clone()
        {
            BootRecord r = new BootRecord();
            r.Sequence = Sequence;
            r.ActiveSlot = ActiveSlot;
            r.State = State;
            r.Version = Version;
            r.ImageId = ImageId;
            r.PreviousVersion = PreviousVersion;
            r.PreviousImageId = PreviousImageId;
            return r;
        }

        public void Encode(byte[] buffer, int offset)
        {
            WireWriter w = new WireWriter(buffer, offset, EncodedLength);
            w.WriteUInt32(Magic);
            w.WriteUInt32(Sequence);
            w.WriteByte((byte)ActiveSlot);
            w.WriteByte((byte)State);
            Version.Write(w);
            w.WriteUInt32(ImageId);
            PreviousVersion.Write(w);
            w.WriteUInt32(PreviousImageId);
            w.WriteUInt32(Crc32.Compute(buffer, offset, EncodedLength - 4));
        }

        /// <summary>Returns null when the bytes are not a valid record (erased, torn, or corrupt).</summary>
        public static BootRecord TryDecode(byte[] buffer, int offset)
        {
            WireReader r = new WireReader(buffer, offset, EncodedLength);
            if (r.ReadUInt32() != Magic) return null;
            uint crc = Crc32.Compute(buffer, offset, EncodedLength - 4);
            BootRecord b = new BootRecord();
            b.Sequence = r.ReadUInt32();
            b.ActiveSlot = r.ReadByte();
            byte state = r.ReadByte();
            b.Version = FirmwareVersion.Read(r);
            b.ImageId = r.ReadUInt32();
            b.PreviousVersion = FirmwareVersion.Read(r);
            b.PreviousImageId = r.ReadUInt32();
            if (r.ReadUInt32() != crc) return null;
            if (b.ActiveSlot > 1 || state > (byte)BootState.Trial) return null;
            b.State = (BootState)state;
            return b;
        }
    }
}
