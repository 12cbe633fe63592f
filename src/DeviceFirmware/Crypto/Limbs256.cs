namespace IotOta.DeviceFirmware.Crypto
{
    /// <summary>
    /// Helpers for 256-bit unsigned integers held as eight 32-bit limbs, least significant limb first
    /// (<c>uint[8]</c>). No allocation; every method works on arrays the caller owns.
    /// </summary>
    public static class Limbs256
    {
        public const int Count = 8;

        /// <summary>Reads 32 big-endian bytes (the SEC1 / P1363 encoding) into limbs.</summary>
        public static void FromBigEndian(byte[] src, int offset, uint[] dst)
        {
            for (int i = 0; i < Count; i++)
            {
                int o = offset + 28 - 4 * i;
                dst[i] = ((uint)src[o] << 24) | ((uint)src[o + 1] << 16) | ((uint)src[o + 2] << 8) | src[o + 3];
            }
        }

        /// <summary>Writes limbs as 32 big-endian bytes.</summary>
        public static void ToBigEndian(uint[] src, byte[] dst, int offset)
        {
            for (int i = 0; i < Count; i++)
            {
                int o = offset + 28 - 4 * i;
                uint v = src[i];
                dst[o] = (byte)(v >> 24);
                dst[o + 1] = (byte)(v >> 16);
                dst[o + 2] = (byte)(v >> 8);
                dst[o + 3] = (byte)v;
            }
        }

        /// <summary>-1, 0 or 1 as a is below, equal to or above b.</summary>
        public static int Compare(uint[] a, uint[] b)
        {
            for (int i = Count - 1; i >= 0; i--)
            {
                if (a[i] < b[i]) return -1;
                if (a[i] > b[i]) return 1;
            }
            return 0;
        }

        public static bool IsZero(uint[] a)
        {
            uint acc = 0;
            for (int i = 0; i < Count; i++) acc |= a[i];
            return acc == 0;
        }

        public static void Copy(uint[] src, uint[] dst)
        {
            for (int i = 0; i < Count; i++) dst[i] = src[i];
        }

        public static void SetZero(uint[] a)
        {
            for (int i = 0; i < Count; i++) a[i] = 0;
        }

        /// <summary>r = a + b mod 2^256; returns the carry out (0 or 1). r may alias a or b.</summary>
        public static uint Add(uint[] r, uint[] a, uint[] b)
        {
            ulong c = 0;
            for (int i = 0; i < Count; i++)
            {
                c += (ulong)a[i] + b[i];
                r[i] = (uint)c;
                c >>= 32;
            }
            return (uint)c;
        }

        /// <summary>r = a - b mod 2^256; returns the borrow out (0 or 1). r may alias a or b.</summary>
        public static uint Sub(uint[] r, uint[] a, uint[] b)
        {
            long c = 0;
            for (int i = 0; i < Count; i++)
            {
                c += (long)a[i] - b[i];
                r[i] = (uint)c;
                c >>= 32; // arithmetic shift: 0 or -1
            }
            return (uint)(-c);
        }

        /// <summary>Bit i (0 = least significant) of a.</summary>
        public static int Bit(uint[] a, int i)
        {
            return (int)((a[i >> 5] >> (i & 31)) & 1);
        }
    }
}
