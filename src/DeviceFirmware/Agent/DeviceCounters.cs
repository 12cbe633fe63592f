namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>What a device counts. Fields are updated under the agent's lock; read them as a snapshot.</summary>
    public sealed class DeviceCounters
    {
        public int MessagesRejected;
        public int ManifestsRefused;
        public int BadChunkHashes;
        public int DuplicatePackets;
        public int PacketsWritten;
        public int OriginalsReceived;
        public int RelaysReceived;
        public int CopiesReceived;
        public int CopiesSent;
        public int CopiesFailed;
        public long PeerPayloadBytesSent;
        public int ForwardDrops;
        public int RepairRequestsSent;
        public int GatewayRepairRequests;
        public int RepairRepliesSent;
        public int NoticesSent;
        public int Installs;
        public int ImageVerifyFailures;
    }
}
