// Reference stand-in for nanoFramework.System.Net 1.11.54 (assembly System.Net), transcribed from
// github.com/nanoframework/System.Net at tag v1.11.54 (commit 713b02c; the version nanoFramework.M2Mqtt 5.1.218 and
// nanoFramework.System.Device.Wifi 1.5.147 depend on). Only the members the board program uses; paths are under
// nanoFramework.System.Net/ at that tag.
[assembly: System.Reflection.AssemblyVersion("1.11.54.0")]

namespace System.Net
{
    // EndPoint.cs:17
    public abstract class EndPoint
    {
    }

    // IPAddress.cs:17
    public class IPAddress
    {
        // IPAddress.cs:32
        public static readonly IPAddress Any;
        // IPAddress.cs:106 — "the Int64 value is assumed to be in network byte order" (127.0.0.1 = 0x0100007F)
        public IPAddress(long newAddress) { throw null; }
        // IPAddress.cs:279
        public byte[] GetAddressBytes() { throw null; }
        // IPAddress.cs:373 — the first network interface's IPv4 address
        public static IPAddress GetDefaultLocalAddress() { throw null; }
    }

    // IPEndPoint.cs:15
    public class IPEndPoint : EndPoint
    {
        // IPEndPoint.cs:49
        public IPEndPoint(IPAddress address, int port) { throw null; }
    }
}

namespace System.Net.Sockets
{
    // Sockets/AddressFamily.cs:16
    public enum AddressFamily
    {
        InterNetwork = 2,
    }

    // Sockets/SocketType.cs:17
    public enum SocketType
    {
        Stream = 1,
    }

    // Sockets/ProtocolType.cs:12
    public enum ProtocolType
    {
        Tcp = 6,
    }

    // Sockets/SocketFlags.cs:15
    [Flags]
    public enum SocketFlags
    {
        None = 0x0000,
    }

    // Sockets/SelectMode.cs:12
    public enum SelectMode
    {
        SelectRead = 0,
    }

    // Sockets/SocketOptionLevel.cs:16
    public enum SocketOptionLevel
    {
        Tcp = ProtocolType.Tcp,
    }

    // Sockets/SocketOptionName.cs:18
    public enum SocketOptionName
    {
        // Sockets/SocketOptionName.cs:238
        NoDelay = 1,
    }

    // Sockets/Socket.cs:16
    public class Socket : IDisposable
    {
        // Sockets/Socket.cs:55
        public Socket(AddressFamily addressFamily, SocketType socketType, ProtocolType protocolType) { throw null; }
        // Sockets/Socket.cs:84 — bytes received and ready to read
        public int Available { get { throw null; } }
        // Sockets/Socket.cs:200
        public int ReceiveTimeout { get { throw null; } set { throw null; } }
        // Sockets/Socket.cs:226
        public int SendTimeout { get { throw null; } set { throw null; } }
        // Sockets/Socket.cs:283
        public void Bind(EndPoint localEP) { throw null; }
        // Sockets/Socket.cs:334
        public void Connect(EndPoint remoteEP) { throw null; }
        // Sockets/Socket.cs:367
        public void Close() { throw null; }
        // Sockets/Socket.cs:391
        public void Listen(int backlog) { throw null; }
        // Sockets/Socket.cs:414
        public Socket Accept() { throw null; }
        // Sockets/Socket.cs:565
        public int Send(byte[] buffer, int offset, int size, SocketFlags socketFlags) { throw null; }
        // Sockets/Socket.cs:730
        public int Receive(byte[] buffer, int offset, int size, SocketFlags socketFlags) { throw null; }
        // Sockets/Socket.cs:890
        public void SetSocketOption(SocketOptionLevel optionLevel, SocketOptionName optionName, bool optionValue) { throw null; }
        // Sockets/Socket.cs:1049 — select(): SelectRead is true when data is waiting, a connection is pending on a
        // listener, or the peer closed
        public bool Poll(int microSeconds, SelectMode mode) { throw null; }
        // Sockets/Socket.cs:16 (IDisposable.Dispose, explicit there)
        void IDisposable.Dispose() { throw null; }
    }
}

namespace System.Security.Cryptography.X509Certificates
{
    // X509Certificates/X509Certificate.cs:19 — only named by MqttClient's constructor (no TLS here: null)
    public class X509Certificate
    {
        // X509Certificates/X509Certificate.cs:51
        public X509Certificate() { throw null; }
    }
}
