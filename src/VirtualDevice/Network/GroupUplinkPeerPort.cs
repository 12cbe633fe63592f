using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Network;

/// <summary>
/// A group's shared uplink to other groups: sends to a peer outside the device's own group also draw from one token
/// bucket that every device of the group shares (a site's WAN link), on top of the device's own upload limit.
/// </summary>
public sealed class GroupUplinkPeerPort(IPeerPort inner, TokenBucket groupUplink, Func<uint, int, bool> isOwnGroup) : IPeerPort
{
    public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
    {
        if (!isOwnGroup(ip, port)) groupUplink.Consume(count);
        return inner.Send(ip, port, buffer, offset, count);
    }

    public bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece)
    {
        if (!isOwnGroup(ip, port)) groupUplink.Consume(count);
        return inner.SendPieces(ip, port, message, count, piece);
    }
}
