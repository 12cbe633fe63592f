using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace IotOta.VirtualDevice.Network;

/// <summary>IPv4 addresses as the uint the device core uses: the four address bytes read little-endian, so
/// 127.0.0.1 = 0x0100007F.</summary>
public static class IpCodec
{
    public static readonly uint Loopback = ToUInt(IPAddress.Loopback);

    public static uint ToUInt(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException($"'{address}' is not an IPv4 address", nameof(address));
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public static IPAddress ToAddress(uint ip)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, ip);
        return new IPAddress(b);
    }
}
