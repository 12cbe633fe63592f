namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// A protocol message in a form that survives being carried as text: "IOX:" and the message's bytes in lowercase
    /// hex. Needed for the MQTT last will of a board: nanoFramework.M2Mqtt takes the will as a string and encodes it
    /// as UTF-8 (M2Mqtt/Messages/MqttMsgConnect.cs at v5.1.218, line 415), so a binary presence with bytes &gt;= 0x80
    /// (an address such as 192.168.x.x) would arrive changed. The gateway accepts either form on any device topic.
    /// Binary messages start with 'I' 'O' 0x01, so the two can never be confused.
    /// </summary>
    public static class ArmoredMessage
    {
        public const string Prefix = "IOX:";
        public const int PrefixLength = 4;
        private const string Digits = "0123456789abcdef";

        /// <summary>The text form of buffer[offset..offset+count).</summary>
        public static string ToText(byte[] buffer, int offset, int count)
        {
            char[] c = new char[PrefixLength + 2 * count];
            for (int i = 0; i < PrefixLength; i++) c[i] = Prefix[i];
            for (int i = 0; i < count; i++)
            {
                byte b = buffer[offset + i];
                c[PrefixLength + 2 * i] = Digits[b >> 4];
                c[PrefixLength + 2 * i + 1] = Digits[b & 0x0F];
            }
            return new string(c);
        }

        /// <summary>True when the payload starts with the "IOX:" prefix (it may still be malformed).</summary>
        public static bool IsArmored(byte[] payload, int offset, int count)
        {
            if (payload == null || count < PrefixLength || offset < 0 || offset > payload.Length - count) return false;
            for (int i = 0; i < PrefixLength; i++)
            {
                if (payload[offset + i] != (byte)Prefix[i]) return false;
            }
            return true;
        }

        /// <summary>Bytes the decoded message has (the payload must be armored).</summary>
        public static int DecodedLength(int payloadCount)
        {
            return (payloadCount - PrefixLength) / 2;
        }

        /// <summary>Decodes an armored payload into output; returns the message's length. Throws ProtocolException
        /// (BadMagic) for a payload without the prefix, an odd number of digits or a character that is not a hex digit.</summary>
        public static int Decode(byte[] payload, int offset, int count, byte[] output, int outputOffset)
        {
            if (!IsArmored(payload, offset, count)) throw new ProtocolException(ProtocolError.BadMagic, "armored message does not start with " + Prefix);
            int digits = count - PrefixLength;
            if ((digits & 1) != 0) throw new ProtocolException(ProtocolError.Truncated, "armored message has an odd number of hex digits (" + digits + ")");
            int n = digits / 2;
            if (output.Length - outputOffset < n) throw new ProtocolException(ProtocolError.FieldOutOfRange, "armored message of " + n + " bytes does not fit its buffer");
            int at = offset + PrefixLength;
            for (int i = 0; i < n; i++)
            {
                output[outputOffset + i] = (byte)((Nibble(payload[at + 2 * i]) << 4) | Nibble(payload[at + 2 * i + 1]));
            }
            return n;
        }

        private static int Nibble(byte c)
        {
            if (c >= (byte)'0' && c <= (byte)'9') return c - (byte)'0';
            if (c >= (byte)'a' && c <= (byte)'f') return c - (byte)'a' + 10;
            if (c >= (byte)'A' && c <= (byte)'F') return c - (byte)'A' + 10;
            throw new ProtocolException(ProtocolError.BadMagic, "armored message holds a character that is not a hex digit (0x" + Digits[c >> 4] + Digits[c & 0x0F] + ")");
        }
    }
}
