using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Support;

public static class Parsed
{
    public static DataPacket Data(byte[] b)
    {
        var p = new DataPacket();
        p.Parse(b, 0, b.Length);
        return p;
    }

    public static byte[] Payload(byte[] b)
    {
        var p = Data(b);
        return p.PayloadBuffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray();
    }

    public static RepairRequest Repair(byte[] b)
    {
        var r = new RepairRequest();
        r.Parse(b, 0, b.Length);
        return r;
    }

    public static Presence Presence(byte[] b)
    {
        var p = new Presence();
        p.Parse(b, 0, b.Length);
        return p;
    }
}
