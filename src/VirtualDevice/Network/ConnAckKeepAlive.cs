namespace IotOta.VirtualDevice.Network;

/// <summary>
/// Reads the Server Keep Alive (MQTT 5 property 0x13) from an encoded CONNACK: a broker that sets it imposes its own
/// keep-alive, and MQTTnet then runs its keep-alive task with it (see <see cref="MqttDevicePort"/>). 0 when the packet
/// has none (MQTT 3.1.1, or a broker that takes the client's), or is not a well-formed CONNACK.
/// </summary>
public static class ConnAckKeepAlive
{
    public static int ServerKeepAlive(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 4 || packet[0] != 0x20) return 0;
        int at = 1;
        if (!VarInt(packet, ref at, out int remaining) || at + remaining > packet.Length) return 0;
        int end = at + remaining;
        at += 2; // acknowledge flags, reason code
        if (at >= end) return 0; // MQTT 3.1.1: no properties
        if (!VarInt(packet, ref at, out int propertiesLength) || at + propertiesLength > end) return 0;
        int stop = at + propertiesLength;
        while (at < stop)
        {
            byte id = packet[at++];
            int skip;
            switch (id)
            {
                case 0x13:
                    return at + 2 <= stop ? packet[at] << 8 | packet[at + 1] : 0;
                case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A:
                    skip = 1;
                    break;
                case 0x21: case 0x22: case 0x23:
                    skip = 2;
                    break;
                case 0x02: case 0x11: case 0x18: case 0x27:
                    skip = 4;
                    break;
                case 0x0B:
                    if (!VarInt(packet, ref at, out _)) return 0;
                    skip = 0;
                    break;
                case 0x03: case 0x08: case 0x09: case 0x12: case 0x15: case 0x16: case 0x1A: case 0x1C: case 0x1F:
                    if (at + 2 > stop) return 0;
                    skip = 2 + (packet[at] << 8 | packet[at + 1]);
                    break;
                case 0x26: // user property: two strings
                    if (at + 2 > stop) return 0;
                    int first = 2 + (packet[at] << 8 | packet[at + 1]);
                    if (at + first + 2 > stop) return 0;
                    skip = first + 2 + (packet[at + first] << 8 | packet[at + first + 1]);
                    break;
                default:
                    return 0; // not a CONNACK property
            }
            at += skip;
        }
        return 0;
    }

    private static bool VarInt(ReadOnlySpan<byte> b, ref int at, out int value)
    {
        value = 0;
        for (int shift = 0; shift < 28; shift += 7)
        {
            if (at >= b.Length) return false;
            byte x = b[at++];
            value |= (x & 0x7F) << shift;
            if ((x & 0x80) == 0) return true;
        }
        return false;
    }
}
