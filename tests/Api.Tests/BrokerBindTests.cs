using System.Globalization;
using System.Net;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Serve;

namespace IotOta.Api.Tests;

/// <summary>The embedded broker of `serve` listens on loopback only (127.0.0.1 and ::1) unless told otherwise: read
/// from the kernel's socket tables (/proc/net/tcp and tcp6, what `ss -ltn` shows).</summary>
public sealed class BrokerBindTests
{
    /// <summary>Addresses with a listening TCP socket on the port.</summary>
    public static IReadOnlyList<IPAddress> Listening(int port)
    {
        var found = new List<IPAddress>();
        foreach (var (file, v6) in new[] { ("/proc/net/tcp", false), ("/proc/net/tcp6", true) })
        {
            if (!File.Exists(file)) continue;
            foreach (string line in File.ReadLines(file).Skip(1))
            {
                var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (cols.Length < 4 || cols[3] != "0A") continue; // 0A = LISTEN
                var local = cols[1].Split(':');
                if (int.Parse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != port) continue;
                found.Add(Parse(local[0], v6));
            }
        }
        return found;
    }

    /// <summary>/proc/net/tcp* addresses: 32-bit words in host (little-endian) order, printed as hex.</summary>
    private static IPAddress Parse(string hex, bool v6)
    {
        var bytes = new byte[hex.Length / 2];
        for (int w = 0; w < hex.Length / 8; w++)
        {
            uint word = uint.Parse(hex.AsSpan(w * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            BitConverter.TryWriteBytes(bytes.AsSpan(w * 4, 4), word);
        }
        return new IPAddress(bytes);
    }

    [Fact]
    public async Task Serve_broker_listens_on_loopback_only_for_IPv4_and_IPv6()
    {
        Assert.True(File.Exists("/proc/net/tcp"), "needs Linux's /proc/net/tcp");
        await using var server = await SmallServer.StartAsync();
        int port = int.Parse(server.BrokerAddress.Split(':')[1], CultureInfo.InvariantCulture);
        var addresses = Listening(port);
        Assert.NotEmpty(addresses);
        Assert.All(addresses, a => Assert.True(IPAddress.IsLoopback(a), $"the broker listens on {a}:{port}"));
        Assert.Contains(IPAddress.Loopback, addresses);
        if (System.Net.Sockets.Socket.OSSupportsIPv6) Assert.Contains(IPAddress.IPv6Loopback, addresses);
        Assert.DoesNotContain(addresses, a => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any));
    }

    [Fact]
    public async Task Told_otherwise_the_broker_listens_where_it_is_told()
    {
        int port = EmbeddedBroker.FreePort();
        await using var broker = await EmbeddedBroker.StartAsync(port, null, null, [IPAddress.Any]);
        var addresses = Listening(port);
        Assert.Equal([IPAddress.Any], addresses);
        Assert.Throws<ArgumentException>(() => EmbeddedBroker.BindAddresses([IPAddress.Loopback, IPAddress.Any]));
    }

    [Fact]
    public void Default_bind_is_loopback_for_both_families()
    {
        var (v4, v6) = EmbeddedBroker.BindAddresses(null);
        Assert.Equal(IPAddress.Loopback, v4);
        Assert.True(v6.Equals(IPAddress.IPv6Loopback) || (v6.Equals(IPAddress.None) && !System.Net.Sockets.Socket.OSSupportsIPv6));
        Assert.Null(new ServeOptions().BrokerBind);
    }
}
