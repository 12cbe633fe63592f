namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>One unit of work for the forwarder: send copies of a held packet, then maybe a receipt notice.</summary>
    public sealed class ForwardJob
    {
        /// <summary>Copy to every member of the group and relay to the named targets, then send a notice.</summary>
        public const byte KindMinimumUnit = 0;
        /// <summary>Answer a repair request: one copy to one peer.</summary>
        public const byte KindRepairReply = 1;
        /// <summary>Relay copies of a minimum unit to the named devices of other groups (sent before member copies).</summary>
        public const byte KindRelay = 2;
        /// <summary>Pass a copy on down the group's copy tree: copies to this device's children for <see cref="Span"/>
        /// (no notice; the root noticed).</summary>
        public const byte KindSpanCopy = 3;
        /// <summary>Protocol v2: copy a hash-list piece (Index = piece) to every member of the group; no notice.</summary>
        public const byte KindPieceUnit = 4;
        /// <summary>Protocol v2: answer a piece request: one copy of a piece to one peer.</summary>
        public const byte KindPieceReply = 5;
        /// <summary>Protocol v2: pass the signed ImageRoot (read back from flash) on to every member (a seed in a full
        /// mesh); no notice. A piece's relays, children and full-mesh members get the root just before the piece
        /// instead (Forwarder.SendRootAhead).</summary>
        public const byte KindRootUnit = 6;
        /// <summary>Protocol v2: pass a hash-list piece on down the group's copy tree for <see cref="Span"/> (each child
        /// gets the root just before the piece); no notice.</summary>
        public const byte KindPieceSpan = 7;
        /// <summary>Protocol v2: pass the group's relay-tree table (read back from flash) on to every member of a full
        /// mesh (a seed); no notice.</summary>
        public const byte KindTableUnit = 8;
        /// <summary>Protocol v2: pass the group's relay-tree table on down the copy tree for <see cref="Span"/>; no notice.</summary>
        public const byte KindTableSpan = 9;
        /// <summary>Protocol v2: answer a member's request for the table: one copy to it (FlagTable | FlagRepair).</summary>
        public const byte KindTableReply = 10;

        /// <summary>True for the kinds that carry a hash-list piece rather than a chunk (a relay job says so in
        /// CopyFlags: DataPacket.FlagHashPiece).</summary>
        public bool IsPiece
        {
            get { return Kind == KindPieceUnit || Kind == KindPieceReply || Kind == KindPieceSpan || (Kind == KindRelay && (CopyFlags & Shared.Protocol.DataPacket.FlagHashPiece) != 0); }
        }

        /// <summary>True for the kinds that carry the group's relay-tree table (DataPacket.FlagTable).</summary>
        public bool IsTable
        {
            get { return Kind == KindTableUnit || Kind == KindTableSpan || Kind == KindTableReply; }
        }

        public byte Kind;
        public uint ImageId;
        public int Index;
        /// <summary>The notice's kind (original or relay) for minimum units; <see cref="NoticeNone"/> for a silent relay.</summary>
        public byte NoticeKind;
        /// <summary>A relay copy flagged FlagSilentRelays that goes to no other group sends no notice: its root's notice
        /// stands for it (Forwarder.QueueMinimumUnit; the gateway reckons when its forwarding is over).</summary>
        public const byte NoticeNone = 255;
        /// <summary>A silent interior relay of a tree (FlagSilentTree): no notice unless its forwarding took longer than
        /// DeviceConfig.QuietRelayMaxMs from the copy's arrival; then a relay notice, so the gateway sees the backlog.</summary>
        public const byte NoticeIfLate = 254;
        public long ReceivedAtMs;
        /// <summary>A node that must not get a copy (the one that sent this packet).</summary>
        public uint ExcludeNode;
        public int TargetCount;
        /// <summary>For a minimum unit: how many relay copies were queued separately (counted in its notice).</summary>
        public int RelayCount;
        /// <summary>For a relay job: the flags its copies carry (FlagRelay, and FlagTree down a relay tree).</summary>
        public byte CopyFlags;
        /// <summary>For a span copy: the members after this device it must get the packet to.</summary>
        public int Span;
        public readonly uint[] TargetNode;
        public readonly uint[] TargetIp;
        public readonly int[] TargetPort;

        /// <summary>A job with room for DataPacket.MaxTargets targets.</summary>
        public ForwardJob() : this(Shared.Protocol.DataPacket.MaxTargets)
        {
        }

        /// <summary>A job with room for maxTargets targets (a member or repair job needs 1, a relay job up to
        /// DataPacket.MaxTargets): the queues size their jobs once, for what they carry.</summary>
        public ForwardJob(int maxTargets)
        {
            TargetNode = new uint[maxTargets];
            TargetIp = new uint[maxTargets];
            TargetPort = new int[maxTargets];
        }

        /// <summary>Targets this job has room for.</summary>
        public int MaxTargets { get { return TargetNode.Length; } }

        /// <summary>Copies o (a job with less room keeps o's first targets).</summary>
        public void CopyFrom(ForwardJob o)
        {
            Kind = o.Kind;
            ImageId = o.ImageId;
            Index = o.Index;
            NoticeKind = o.NoticeKind;
            ReceivedAtMs = o.ReceivedAtMs;
            ExcludeNode = o.ExcludeNode;
            TargetCount = o.TargetCount < TargetNode.Length ? o.TargetCount : TargetNode.Length;
            RelayCount = o.RelayCount;
            CopyFlags = o.CopyFlags;
            Span = o.Span;
            for (int i = 0; i < TargetCount; i++)
            {
                TargetNode[i] = o.TargetNode[i];
                TargetIp[i] = o.TargetIp[i];
                TargetPort[i] = o.TargetPort[i];
            }
        }
    }
}
