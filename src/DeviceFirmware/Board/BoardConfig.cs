// nanoFramework-only (not built here). Per-device settings: edit before `nanoff --deploy`.
namespace IotOta.DeviceFirmware.Board
{
    public static class BoardConfig
    {
        public const string WifiSsid = "your-ssid";
        public const string WifiPassword = "your-password";
        /// <summary>The gateway's MQTT broker (the embedded broker of `dotnet run --project src/Gateway -- serve`).</summary>
        public const string BrokerHost = "192.168.1.10";
        public const int BrokerPort = 1883;
        public const string MqttUser = null;
        public const string MqttPassword = null;
        public const uint NodeId = 1001;
        public const int GroupId = 1;
        public const int PeerPort = 7001;
        /// <summary>From boards/&lt;board&gt;.json: maxChunkSize (esp32-devkitc: 2048).</summary>
        public const int MaxChunkSize = 2048;
        /// <summary>The gateway's manifest-signing public key (uncompressed P-256 point, 65 bytes) and its id.</summary>
        public const byte TrustedKeyId = 1;
        public static readonly byte[] TrustedKey = new byte[65];
    }
}
