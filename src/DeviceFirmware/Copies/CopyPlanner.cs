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
            return trees.RelaysPacket(index) ? RelayTree : RelayNone;
        }

        /// <summary>Relay destinations an original names (this device left out) into job; returns how many.</summary>
        public int NamedRelays(DataPacket packet, ForwardJob job)
        {
            int n = 0;
            for (int i = 0; i < packet.TargetCount && n < job.MaxTargets; i++)
            {
                if (packet.TargetNode[i] == _self) continue;
                Put(job, n++, packet.TargetNode[i], packet.TargetIp[i], packet.TargetPort[i]);
            }
            job.TargetCount = n;
            return n;
        }

        /// <summary>Relay destinations of packet index down the relay tree: for each child group of this group, the
        /// candidate the table assigns to that packet (this device left out). Returns how many.</summary>
        public int TreeRelays(RelayTreeTable trees, int index, ForwardJob job)
        {
            int n = 0;
            for (int c = 0; c < trees.ChildCount && n < job.MaxTargets; c++)
            {
                uint node, ip;
                int port;
                trees.Candidate(c, index, out node, out ip, out port);
                if (node == _self) continue;
                Put(job, n++, node, ip, port);
            }
            job.TargetCount = n;
            return n;
        }

        private static void Put(ForwardJob job, int n, uint node, uint ip, int port)
        {
            job.TargetNode[n] = node;
            job.TargetIp[n] = ip;
            job.TargetPort[n] = port;
        }

        /// <summary>The members of the group that get a copy of minimum unit <paramref name="index"/>: every member
        /// but this device and <paramref name="exclude"/> (the one it came from). Writes them into node/ip/port (room
        /// for the member list's capacity) and returns how many.</summary>
        public int GroupCopies(MemberList members, int index, uint exclude, uint[] node, uint[] ip, int[] port)
        {
            int n = 0;
            int cursor = 0;
            uint d, a;
            int p;
            while (NextGroupCopy(members, index, exclude, ref cursor, out d, out a, out p))
            {
                node[n] = d;
                ip[n] = a;
                port[n] = p;
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
        /// every member in the span gets the chunk exactly once, and this device never names itself. A fan-out beyond
        /// the arrays' length is clamped to it (coverage stays whole).</summary>
        public int TreeCopies(MemberList members, int span, uint[] node, uint[] ip, int[] port, int[] childSpan)
        {
            int n = members.Count;
            int self = members.IndexOf(_self);
            if (self < 0 || n < 2 || span <= 0) return 0;
            int s = CopyTreeSplit.Covered(span, n);
            int f = members.Fanout > 0 ? members.Fanout : s;
            // A fan-out larger than the caller has room for (its socket budget) shrinks to that room: each child
            // still takes its whole part, so every member of the span is still reached once, one level deeper.
            if (f > node.Length) f = node.Length;
            int parts = CopyTreeSplit.Parts(s, f);
            for (int j = 0; j < parts; j++)
            {
                int pos = (self + CopyTreeSplit.ChildOffset(s, parts, j)) % n;
                node[j] = members.NodeAt(pos);
                ip[j] = members.IpAt(pos);
                port[j] = members.PortAt(pos);
                childSpan[j] = CopyTreeSplit.ChildSpan(s, parts, j);
            }
            return parts;
        }

        /// <summary>The next member (from <paramref name="cursor"/> on, 0 for the first) that gets a copy of minimum
        /// unit <paramref name="index"/>, one at a time so the sender keeps no destination list: false when there is
        /// none left. The cursor moves past the member returned.</summary>
        public bool NextGroupCopy(MemberList members, int index, uint exclude, ref int cursor, out uint node, out uint ip, out int port)
        {
            while (cursor < members.Count)
            {
                int i = cursor++;
                uint m = members.NodeAt(i);
                if (m == _self || m == exclude) continue;
                node = m;
                ip = members.IpAt(i);
                port = members.PortAt(i);
                return true;
            }
            node = 0;
            ip = 0;
            port = 0;
            return false;
        }

        /// <summary>The destination of a repair reply: <paramref name="requester"/>, the member that asked. False when
        /// it is not a member of the list or is this device (only members are served).</summary>
        public bool RepairReply(MemberList members, uint requester, ForwardJob job)
        {
            int who = members.IndexOf(requester);
            if (who < 0 || requester == _self) return false;
            job.TargetCount = 1;
            Put(job, 0, requester, members.IpAt(who), members.PortAt(who));
            return true;
        }

        /// <summary>The destination of a copy the gateway ordered for a device it names with its peer endpoint (a device
        /// of another group: the gateway's registry knows every device's endpoint). False for this device itself or an
        /// endpoint that cannot be reached (ip 0 or port 0).</summary>
        public bool OrderedReply(uint requester, uint ip, int port, ForwardJob job)
        {
            if (requester == _self || requester == 0 || ip == 0 || port <= 0) return false;
            job.TargetCount = 1;
            Put(job, 0, requester, ip, port);
            return true;
        }

        /// <summary>True when <paramref name="requester"/> may be served repairs (a member of the group, not this device).</summary>
        public bool Serves(MemberList members, uint requester)
        {
            return requester != _self && members.IndexOf(requester) >= 0;
        }
    }
}
