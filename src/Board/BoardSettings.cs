using System;
using System.IO;
using IotOta.Shared.Protocol;

namespace IotOta.Board
{
    /// <summary>
    /// What one board needs to know: Wi-Fi, the gateway's broker and the device's MQTT account, its node and group,
    /// the manifest-signing key it trusts, and the sizes of its storage. Read at boot from "iotota.cfg" on the
    /// internal file system (one "key=value" per line, ASCII; '#' starts a comment), so a board is provisioned by
    /// copying that file with `nanoff --filedeployment` instead of rebuilding the program; a key that is absent keeps
    /// the default below. README "On a real board" lists the keys.
    /// </summary>
    public sealed class BoardSettings
    {
        /// <summary>The internal littlefs file system of stock nanoFramework on ESP32.</summary>
        public const string DefaultRoot = "I:\\";
        public const string FileName = "iotota.cfg";

        public string Root = DefaultRoot;
        public string WifiSsid;
        public string WifiPassword;
        public string BrokerHost = "192.168.1.10";
        public int BrokerPort = 1883;
        public string MqttUser;
        public string MqttPassword;
        public uint NodeId = 1001;
        public int GroupId = 1;
        /// <summary>0: the Wi-Fi interface's address; set only where that is not what peers reach (tests on one host).</summary>
        public uint PeerIp;
        public int PeerPort = 7001;
        /// <summary>boards/esp32-devkitc.json maxChunkSize.</summary>
        public int MaxChunkSize = 2048;
        public int MaxMembers = 64;
        public int ForwardQueueCapacity = 16;
        /// <summary>Peer connections held at once, in and out together (the lwIP socket budget: 16 sockets on
        /// nanoFramework's ESP32 builds, shared with MQTT, DNS and the listener); announced in the presence. At least 2.</summary>
        public int MaxPeerConnections = 6;
        public int TrialTimeoutMs = 120000;
        public byte TrustedKeyId = 1;
        /// <summary>The gateway's manifest-signing public key: an uncompressed P-256 point, 65 bytes.</summary>
        public byte[] TrustedKey;
        /// <summary>boards/*.json fileStore: bytes per slot file set, update state, boot record.</summary>
        public int SlotBytes = 80 * 1024;
        public int StateBytes = 16 * 1024;
        public int BootBytes = 12 * 1024;

        /// <summary>Where the core's sector files live (a folder of the file system).</summary>
        public string StoreDirectory { get { return Root + "iotota" + Separator(Root); } }

        private static string Separator(string root)
        {
            return root.Length > 0 && root[root.Length - 1] == '/' ? "/" : "\\";
        }

        /// <summary>Defaults, overridden by &lt;root&gt;iotota.cfg when it exists. Throws ArgumentException naming the
        /// line for a key it does not know or a value it cannot read.</summary>
        public static BoardSettings Load(string root)
        {
            BoardSettings s = new BoardSettings();
            s.Root = root;
            string path = root + FileName;
            if (!File.Exists(path)) return s;
            FileStream f = new FileStream(path, FileMode.Open, FileAccess.Read);
            byte[] text;
            try
            {
                text = new byte[(int)f.Length];
                int at = 0;
                while (at < text.Length)
                {
                    int r = f.Read(text, at, text.Length - at);
                    if (r <= 0) break;
                    at += r;
                }
            }
            finally
            {
                f.Close();
            }
            int start = 0;
            int lineNo = 1;
            for (int i = 0; i <= text.Length; i++)
            {
                if (i == text.Length || text[i] == (byte)'\n')
                {
                    s.Apply(Ascii(text, start, i - start), lineNo);
                    start = i + 1;
                    lineNo++;
                }
            }
            return s;
        }

        private static string Ascii(byte[] b, int offset, int count)
        {
            char[] c = new char[count];
            for (int i = 0; i < count; i++) c[i] = (char)b[offset + i];
            return new string(c);
        }

        private void Apply(string line, int lineNo)
        {
            string t = line.Trim();
            if (t.Length == 0 || t[0] == '#') return;
            int eq = t.IndexOf('=');
            if (eq <= 0) throw new ArgumentException(FileName + " line " + lineNo + ": expected key=value");
            string key = t.Substring(0, eq).Trim();
            string v = t.Substring(eq + 1).Trim();
            try
            {
                switch (key)
                {
                    case "wifi.ssid": WifiSsid = v; break;
                    case "wifi.password": WifiPassword = v; break;
                    case "mqtt.host": BrokerHost = v; break;
                    case "mqtt.port": BrokerPort = int.Parse(v); break;
                    case "mqtt.user": MqttUser = v; break;
                    case "mqtt.password": MqttPassword = v; break;
                    case "node.id": NodeId = uint.Parse(v); break;
                    case "group.id": GroupId = int.Parse(v); break;
                    case "peer.ip": PeerIp = ParseIp(v); break;
                    case "peer.port": PeerPort = int.Parse(v); break;
                    case "peer.connections":
                        MaxPeerConnections = int.Parse(v);
                        // one in from its parent in the copy tree and one out to a child; the presence is 1 byte
                        if (MaxPeerConnections < 2 || MaxPeerConnections > 255) throw new ArgumentException("must be 2..255 (peer connections in and out together)");
                        break;
                    case "chunk.max": MaxChunkSize = int.Parse(v); break;
                    case "members.max":
                        MaxMembers = int.Parse(v);
                        if (MaxMembers < 1 || MaxMembers > MemberListUpdate.MaxMembers) throw new ArgumentException("must be 1.." + MemberListUpdate.MaxMembers + " (what a member list can name)");
                        break;
                    case "queue.capacity": ForwardQueueCapacity = int.Parse(v); break;
                    case "trial.timeout.ms": TrialTimeoutMs = int.Parse(v); break;
                    case "key.id": TrustedKeyId = (byte)int.Parse(v); break;
                    case "key.hex": TrustedKey = ParseHex(v); break;
                    case "store.slot": SlotBytes = int.Parse(v); break;
                    case "store.state": StateBytes = int.Parse(v); break;
                    case "store.boot": BootBytes = int.Parse(v); break;
                    default: throw new ArgumentException("unknown key '" + key + "'");
                }
            }
            catch (Exception e)
            {
                throw new ArgumentException(FileName + " line " + lineNo + " (" + key + "): " + e.Message);
            }
        }

        /// <summary>"192.168.1.20" as the core's little-endian uint (first octet in the low byte).</summary>
        public static uint ParseIp(string dotted)
        {
            string[] p = dotted.Split('.');
            if (p.Length != 4) throw new ArgumentException("'" + dotted + "' is not an IPv4 address");
            uint ip = 0;
            for (int i = 0; i < 4; i++)
            {
                int o = int.Parse(p[i]);
                if (o < 0 || o > 255) throw new ArgumentException("'" + dotted + "' is not an IPv4 address");
                ip |= (uint)o << (8 * i);
            }
            return ip;
        }

        public static byte[] ParseHex(string hex)
        {
            if ((hex.Length & 1) != 0) throw new ArgumentException("odd number of hex digits");
            byte[] b = new byte[hex.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = (byte)(Digit(hex[2 * i]) << 4 | Digit(hex[2 * i + 1]));
            return b;
        }

        private static int Digit(char c)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            throw new ArgumentException("'" + c + "' is not a hex digit");
        }
    }
}
