using System.Net;
using System.Net.Sockets;

namespace IotOta.TestSupport;

/// <summary>Free TCP ports on the loopback interface.</summary>
public static class FreePort
{
    /// <summary>A port that was free on 127.0.0.1 a moment ago (the OS picks it; it is released before returning).</summary>
    public static int Get()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        try
        {
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }
        finally
        {
            l.Stop();
        }
    }

    /// <summary>True when something accepts TCP connections on host:port.</summary>
    public static bool Accepts(string host, int port, int timeoutMs = 200)
    {
        try
        {
            using var c = new TcpClient();
            var t = c.ConnectAsync(host, port);
            return t.Wait(timeoutMs) && c.Connected;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
