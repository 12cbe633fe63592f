namespace IotOta.Shared.Protocol
{
    /// <summary>major.minor.patch, each 0..65535. Immutable.</summary>
    public sealed class FirmwareVersion
    {
        public FirmwareVersion(int major, int minor, int patch)
        {
            if (major < 0 || major > 65535 || minor < 0 || minor > 65535 || patch < 0 || patch > 65535)
            {
                throw new System.ArgumentOutOfRangeException("major", "version parts must be 0..65535");
            }
            Major = major;
            Minor = minor;
            Patch = patch;
        }

        public static readonly FirmwareVersion Zero = new FirmwareVersion(0, 0, 0);

        public int Major { get; private set; }
        public int Minor { get; private set; }
        public int Patch { get; private set; }

        public int CompareTo(FirmwareVersion other)
        {
            if (Major != other.Major) return Major < other.Major ? -1 : 1;
            if (Minor != other.Minor) return Minor < other.Minor ? -1 : 1;
            if (Patch != other.Patch) return Patch < other.Patch ? -1 : 1;
            return 0;
        }

        public bool SameAs(FirmwareVersion other)
        {
            return other != null && CompareTo(other) == 0;
        }

        public override string ToString()
        {
            return Major + "." + Minor + "." + Patch;
        }

        public void Write(WireWriter w)
        {
            w.WriteUInt16(Major);
            w.WriteUInt16(Minor);
            w.WriteUInt16(Patch);
        }

        public static FirmwareVersion Read(WireReader r)
        {
            int a = r.ReadUInt16();
            int b = r.ReadUInt16();
            int c = r.ReadUInt16();
            return new FirmwareVersion(a, b, c);
        }

        /// <summary>Parses "1.2.3"; throws ArgumentException with a clear message otherwise.</summary>
        public static FirmwareVersion Parse(string text)
        {
            if (text == null) throw new System.ArgumentException("version is empty");
            string[] parts = text.Split('.');
            if (parts.Length != 3) throw new System.ArgumentException("version '" + text + "' is not major.minor.patch");
            int[] v = new int[3];
            for (int i = 0; i < 3; i++)
            {
                string p = parts[i];
                if (p.Length == 0 || p.Length > 5) throw new System.ArgumentException("version '" + text + "' has a bad part");
                int n = 0;
                for (int j = 0; j < p.Length; j++)
                {
                    char ch = p[j];
                    if (ch < '0' || ch > '9') throw new System.ArgumentException("version '" + text + "' has a non-digit");
                    n = n * 10 + (ch - '0');
                }
                if (n > 65535) throw new System.ArgumentException("version '" + text + "' has a part above 65535");
                v[i] = n;
            }
            return new FirmwareVersion(v[0], v[1], v[2]);
        }
    }
}
