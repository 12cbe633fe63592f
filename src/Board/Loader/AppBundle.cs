using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.Board.Loader
{
    /// <summary>
    /// The header of an application bundle: the image the gateway distributes to boards (packed by
    /// src/Gateway/Images/AppBundlePacker.cs). Little-endian:
    /// u32 magic "IOAB", u16 format 1, u16 assembly count, u32 bundle length, u16 + ASCII entry type name,
    /// then per assembly u16 + ASCII file name ("App.pe"), u32 offset, u32 length; then the assemblies' bytes.
    /// The whole bundle is what the signed manifest's SHA-256 covers; this only checks that the header is sane.
    /// </summary>
    public sealed class AppBundle
    {
        public const uint Magic = 0x42414F49; // "IOAB"
        public const int Format = 1;
        /// <summary>The header must fit here (the packer refuses larger ones).</summary>
        public const int MaxHeaderLength = 1024;
        public const int MaxAssemblies = 32;

        public string EntryType;
        public int Count;
        public int Length;
        public readonly string[] Names = new string[MaxAssemblies];
        public readonly int[] Offsets = new int[MaxAssemblies];
        public readonly int[] Lengths = new int[MaxAssemblies];

        /// <summary>Reads the header at the start of a slot. Returns null with <paramref name="why"/> set when the
        /// slot holds no bundle (erased, or not a bundle) or the header is inconsistent.</summary>
        public static AppBundle Read(IFlashPartition slot, out string why)
        {
            int n = slot.Size < MaxHeaderLength ? slot.Size : MaxHeaderLength;
            byte[] h = new byte[n];
            slot.Read(0, h, 0, n);
            if (h[0] == 0xFF && h[1] == 0xFF && h[2] == 0xFF && h[3] == 0xFF)
            {
                why = "slot " + slot.Name + " is empty";
                return null;
            }
            try
            {
                WireReader r = new WireReader(h, 0, n);
                if (r.ReadUInt32() != Magic) { why = "slot " + slot.Name + " does not hold an application bundle"; return null; }
                int format = r.ReadUInt16();
                if (format != Format) { why = "bundle format " + format + " is not supported"; return null; }
                AppBundle b = new AppBundle();
                b.Count = r.ReadUInt16();
                if (b.Count < 1 || b.Count > MaxAssemblies) { why = "bundle lists " + b.Count + " assemblies"; return null; }
                uint len = r.ReadUInt32();
                if (len > (uint)slot.Size) { why = "bundle of " + len + " bytes is larger than slot " + slot.Name; return null; }
                b.Length = (int)len;
                b.EntryType = Text(r);
                for (int i = 0; i < b.Count; i++)
                {
                    b.Names[i] = Text(r);
                    uint off = r.ReadUInt32();
                    uint size = r.ReadUInt32();
                    if (size == 0 || off > len || size > len - off) { why = "assembly " + b.Names[i] + " lies outside the bundle"; return null; }
                    b.Offsets[i] = (int)off;
                    b.Lengths[i] = (int)size;
                }
                why = null;
                return b;
            }
            catch (ProtocolException e)
            {
                why = "bundle header is truncated: " + e.Message;
                return null;
            }
        }

        private static string Text(WireReader r)
        {
            int n = r.ReadUInt16();
            if (n == 0 || n > 200) throw new ProtocolException(ProtocolError.FieldOutOfRange, "name of " + n + " characters");
            char[] c = new char[n];
            for (int i = 0; i < n; i++)
            {
                byte b = r.ReadByte();
                if (b < 0x20 || b > 0x7E) throw new ProtocolException(ProtocolError.FieldOutOfRange, "name holds a byte that is not printable ASCII");
                c[i] = (char)b;
            }
            return new string(c);
        }
    }
}
