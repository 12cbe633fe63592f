using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>
    /// Decides every copy destination of this device, in one place: the members of its group that get a copy of a
    /// minimum unit, the devices of other groups that get a relay copy (named by an original, or this group's children
    /// in a relay tree), and the peer that gets a repair reply. It takes the member list and the relay-tree table as
    /// they are and writes destinations into the caller's arrays or job; it never sends, queues or allocates, and it
    /// never names this device itself. Not thread-safe: the agent calls it under its lock.
    /// </summary>
    public sealed class CopyPlanner
    {
        /// <summary>The minimum unit needs no relay copies.</summary>
        public const int RelayNone = 0;
        /// <summary>Relay copies to the targets the original names.</summary>
        public const int RelayNamed = 1;
        /// <summary>Relay copies down the relay tree, to this group's tree children.</summary>
        public const int RelayTree = 2;
        /// <summary>A relay copy down a relay tree arrived before this group's table: the relay copies are owed until it
        /// arrives.</summary>
        public const int RelayOwed = 3;

        private readonly uint _self;

        public CopyPlanner(uint selfNode)
        {
            _self = selfNode;
        }

        /// <summary>This device (never a destination).</summary>
        public uint Self { get { return _self; } }

        /// <summary>Which relay copies minimum unit <paramref name="packet"/> (packet index <paramref name="index"/> of
        /// image <paramref name="imageId"/>) needs: RelayNamed, RelayTree, RelayOwed or RelayNone.</summary>
        public int RelayFor(DataPacket packet, RelayTreeTable trees, uint imageId, int index)
        {
            if (packet.TargetCount > 0) return RelayNamed;
            if (!packet.IsRelay || !packet.IsTree) return RelayNone;
            if (!trees.HasTable(imageId)) return RelayOwed;
            return trees.Table.RelaysPacket(index) ? RelayTree : RelayNone;
        }

        /// <summary>Relay destinations an original names (this device left out) into job; returns how many.</summary>
        public int NamedRelays(DataPacket packet, ForwardJob job)
        {
            int n = 0;
            for (int i = 0; i < packet.TargetCount; i++)
            {
                if (packet.TargetNode[i] == _self) continue;
                job.TargetNode[n] = packet.TargetNode[i];
                job.TargetIp[n] = packet.TargetIp[i];
                job.TargetPort[n] = packet.TargetPort[i];
                n++;
            }
            job.TargetCount = n;
            return n;
        }

        /// <summary>Relay destinations of packet index down the relay tree: for each child group of this group, the
        /// candidate the table assigns to that packet (this device left out). Returns how many.</summary>
        public int TreeRelays(RelayTree tree, int index, ForwardJob job)
        {
            int n = 0;
            for (int c = 0; c < tree.ChildCount; c++)
            {
                int s = tree.SlotFor(c, index);
                if (tree.CandidateNode[s] == _self) continue;
                job.TargetNode[n] = tree.CandidateNode[s];
                job.TargetIp[n] = tree.CandidateIp[s];
                job.TargetPort[n] = tree.CandidatePort[s];
                n++;
            }
            job.TargetCount = n;
            return n;
        }

        /// <summary>The members of the group that get a copy of minimum unit <paramref name="index"/>: every member
        /// but this device and <paramref name="exclude"/> (the one it came from). Writes them into node/ip/port (sized
        /// for the member list's capacity) and returns how many.</summary>
        public int GroupCopies(MemberList members, int index, uint exclude, uint[] node, uint[] ip, int[] port)
        {
            int n = 0;
            for (int i = 0; i < members.Count; i++)
            {
                uint m = members.NodeAt(i);
                if (m == _self || m == exclude) continue;
                node[n] = m;
                ip[n] = members.IpAt(i);
                port[n] = members.PortAt(i);
                n++;
            }
            return n;
        }

        /// <summary>True when copies inside the group travel down the copy tree: the gateway set a fan-out and this
        /// device is on the list (else it copies to every member, as in a full mesh).</summary>
        public bool UsesTree(MemberList members)
        {
            return members.Fanout > 0 && members.IndexOf(_self) >= 0;
        }

        /// <summary>This device's children in the group's copy tree for a chunk it must get to the next
        /// <paramref name="span"/> members after it (ring order of the member list; a minimum unit's root has span
        /// count − 1): the span splits into up to fan-out consecutive parts, the first member of each part is a child
        /// and is responsible for the rest of its part (childSpan). Writes node/ip/port/childSpan and returns how many;
        /// every member in the span gets the chunk exactly once, and this device never names itself.</summary>
        public int TreeCopies(MemberList members, int span, uint[] node, uint[] ip, int[] port, int[] childSpan)
        {
            int n = members.Count;
            int self = members.IndexOf(_self);
            if (self < 0 || n < 2 || span <= 0) return 0;
            int s = span < n - 1 ? span : n - 1;
            int f = members.Fanout > 0 ? members.Fanout : s;
            int parts = f < s ? f : s;
            int size = s / parts, extra = s % parts, offset = 1;
            for (int j = 0; j < parts; j++)
            {
                int part = size + (j < extra ? 1 : 0);
                int pos = (self + offset) % n;
                node[j] = members.NodeAt(pos);
                ip[j] = members.IpAt(pos);
                port[j] = members.PortAt(pos);
                childSpan[j] = part - 1;
                offset += part;
            }
            return parts;
        }

        /// <summary>The destination of a repair reply: <paramref name="requester"/>, the member that asked. False when
        /// it is not a member of the list or is this device (only members are served).</summary>
        public bool RepairReply(MemberList members, uint requester, ForwardJob job)
        {
            int who = members.IndexOf(requester);
            if (who < 0 || requester == _self) return false;
            job.TargetCount = 1;
            job.TargetNode[0] = requester;
            job.TargetIp[0] = members.IpAt(who);
            job.TargetPort[0] = members.PortAt(who);
            return true;
        }

        /// <summary>True when <paramref name="requester"/> may be served repairs (a member of the group, not this device).</summary>
        public bool Serves(MemberList members, uint requester)
        {
            return requester != _self && members.IndexOf(requester) >= 0;
        }
    }
}
