namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>Protocol v2 (issue #15): the forwarder's jobs that pass the group's relay-tree table on to the members,
    /// read back from flash as a copy flagged DataPacket.FlagTable — down the copy tree like a hash piece, or to every
    /// member of a full mesh. No notice.</summary>
    public sealed partial class Forwarder
    {
        /// <summary>This device is its group's seed for the table the digest names (it came from the gateway): queues
        /// its way to the whole group (under the lock).</summary>
        public void QueueTable(uint imageId)
        {
            if (_planner.UsesTree(_members)) QueueTableSpan(imageId, _members.Count - 1);
            else QueueTableJob(ForwardJob.KindTableUnit, imageId, 0);
        }

        /// <summary>The table came down the copy tree: queues it on to this device's children for
        /// <paramref name="span"/> (under the lock).</summary>
        public void QueueTableSpan(uint imageId, int span)
        {
            if (span <= 0) return;
            QueueTableJob(ForwardJob.KindTableSpan, imageId, span);
        }

        /// <summary>A member asked for the table (it got it before the digest): one copy to it, flagged FlagTable |
        /// FlagRepair (under the lock). False when the queue has no room or the asker is no member.</summary>
        public bool QueueTableReply(uint imageId, uint requester)
        {
            return QueueReply(ForwardJob.KindTableReply, imageId, 0, requester);
        }

        private void QueueTableJob(byte kind, uint imageId, int span)
        {
            QueuePieceJob(kind, imageId, 0, _self, span);
        }
    }
}
