namespace IotOta.Shared.Protocol
{
    /// <summary>The fourth header byte: what follows.</summary>
    public enum MessageType : byte
    {
        Manifest = 1,
        Original = 2,
        Copy = 3,
        ReceiptNotice = 4,
        ProgressReport = 5,
        MemberList = 6,
        RepairRequest = 7,
        Presence = 8,
        RelayTree = 9,
        // Protocol v2 control plane (header version byte 2): see docs/protocol.md "Control rides the swarm".
        ImageRoot = 10,
        HashPiece = 11,
        PieceRequest = 12,
        NoticeBatch = 13,
        RelayTreeDigest = 14,
        CompactNoticeBatch = 15,
    }
}
