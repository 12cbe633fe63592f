namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>What a device counts. Fields are updated under the agent's lock; read them as a snapshot.</summary>
    public sealed class DeviceCounters
    {
        public int MessagesRejected;
        public int ManifestsRefused;
        public int BadChunkHashes;
        /// <summary>v2: packets dropped because the hash-list piece that covers them had not come yet.</summary>
        public int NoHashYetDrops;
        /// <summary>Protocol v2: hash-list pieces taken (verified against the root), and piece requests sent.</summary>
        public int HashPiecesTaken;
        public int PieceRequestsSent;
        public int DuplicatePackets;
        public int PacketsWritten;
        public int OriginalsReceived;
        public int RelaysReceived;
        /// <summary>Relay copies received down a relay tree that this device passed on to its group's tree children.</summary>
        public int TreeRelays;
        /// <summary>Relay copies received down a relay tree while this group held no table (it may not have arrived
        /// yet; a leaf group never gets one): relayed on to the tree children once a table for the image arrives.</summary>
        public int TreeRelaysOwed;
        /// <summary>Protocol v2: relay-tree tables taken from a member (they matched the gateway's digest), and tables
        /// asked of the gateway (a digest held, its table not).</summary>
        public int TablesFromPeers;
        public int TableRequests;
        public int CopiesReceived;
        public int CopiesSent;
        public int CopiesFailed;
        public long PeerPayloadBytesSent;
        public int ForwardDrops;
        public int RepairRequestsSent;
        public int GatewayRepairRequests;
        public int RepairRepliesSent;
        /// <summary>Peer repair requests left unanswered because this device's forwarding queue held work (RepairServer).</summary>
        public int RepairsDeclinedBusy;
        /// <summary>Repair requests the gateway handed this device as the donor for a group mate (on its in-topic).</summary>
        public int DonorOrders;
        public int NoticesSent;
        public int Installs;
        public int ImageVerifyFailures;
        /// <summary>Packets for another (older) image id: replays, harmless, dropped.</summary>
        public int StalePackets;
        /// <summary>Peer packets dropped unread because their sender or connection is quarantined.</summary>
        public int QuarantinedDrops;
        /// <summary>Senders/connections put in quarantine after repeated bad packets.</summary>
        public int PeersQuarantined;
        /// <summary>On resume: packets the persisted bitmap claimed but whose flash bytes failed their hash.</summary>
        public int ResumeHeldInvalid;
        /// <summary>Stored manifests whose signature did not verify at boot (the stored update was cleared).</summary>
        public int StoredSignatureFailures;
        /// <summary>Copies abandoned while being streamed to a peer because their packet was replaced (a new image).</summary>
        public int CopiesAbandoned;
        /// <summary>On resume: slot sectors erased (and their verified packets rewritten) because a packet not held
        /// had been partly written there (torn write).</summary>
        public int ResumeSectorsCleaned;
        /// <summary>Manifests ignored while the running image is still on trial (its rollback slot must survive).</summary>
        public int ManifestsDeferred;
        /// <summary>Trial images given up: self-test failed or no confirmation within DeviceConfig.TrialTimeoutMs.</summary>
        public int TrialsAbandoned;
        /// <summary>Sequential sink: packets that arrived ahead of the write position and went to the staging area.</summary>
        public int PacketsStaged;
        /// <summary>Sequential sink: staged packets moved into the sink once the gap before them filled.</summary>
        public int StagingDrained;
        /// <summary>Sequential sink: early packets dropped because the staging area was full (they are repaired later).</summary>
        public int StagingFullDrops;
        /// <summary>Sequential sink: most packets in the staging area at once (this boot; a resume starts from what
        /// staging holds).</summary>
        public int StagingHighWater;
    }
}
