// nanoFramework-only (not built here): IPeerPort over System.Net.Sockets; frames are a 4-byte little-endian length
// then one protocol message (docs/protocol.md, "Second network").
using System;
using System.Collections;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Board
{
    internal sealed class SocketPeerPort : IPeerPort
    {
        private readonly int _port;
        private readonly byte[] _rx;
        private readonly byte[] _len = new byte[4];
        private readonly Hashtable _out = new Hashtable(); // "ip:port" -> Socket
        private DeviceAgent _agent;
        private uint _nextConnection;

        public SocketPeerPort(int port, int maxChunkSize)
        {
            _port = port;
            _rx = new byte[22 + 80 + maxChunkSize]; // one receive buffer, sized once (one inbound connection at a time)
        }

        public static uint LocalIp()
        {
            byte[] a = IPAddress.GetDefaultLocalAddress().GetAddressBytes();
            return (uint)(a[0] | (a[1] << 8) | (a[2] << 16) | (a[3] << 24));
        }

        public void Attach(DeviceAgent agent) { _agent = agent; }

        public void Listen()
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Any, _port));
            listener.Listen(4);
            new Thread(() =>
            {
                while (true)
                {
                    Socket s = listener.Accept();
                    uint id = ++_nextConnection;
                    try { Serve(s, id); } catch (Exception) { }
                    s.Close();
                }
            }).Start();
        }

        private void Serve(Socket s, uint connection)
        {
            while (true)
            {
                if (!ReadFully(s, _len, 4)) return;
                int n = _len[0] | (_len[1] << 8) | (_len[2] << 16) | (_len[3] << 24);
                if (n <= 0 || n > _rx.Length) return; // broken stream (or larger than this board accepts)
                if (!ReadFully(s, _rx, n)) return;
                DeviceAgent a = _agent;
                if (a != null) a.OnPeerMessage(connection, _rx, 0, n);
            }
        }

        private static bool ReadFully(Socket s, byte[] b, int n)
        {
            int at = 0;
            while (at < n)
            {
                int r = s.Receive(b, at, n - at, SocketFlags.None);
                if (r <= 0) return false;
                at += r;
            }
            return true;
        }

        public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
        {
            string key = ip + ":" + port;
            Socket s = (Socket)_out[key];
            try
            {
                if (s == null)
                {
                    s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    s.Connect(new IPEndPoint(new IPAddress(ip), port));
                    _out[key] = s;
                }
                byte[] len = new byte[] { (byte)count, (byte)(count >> 8), (byte)(count >> 16), (byte)(count >> 24) };
                s.Send(len, 0, 4, SocketFlags.None);
                s.Send(buffer, offset, count, SocketFlags.None);
                return true;
            }
            catch (Exception)
            {
                if (s != null) { try { s.Close(); } catch (Exception) { } }
                _out.Remove(key);
                return false;
            }
        }
    }
}
