namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>
    /// A fixed ring of forward jobs, kept as parallel arrays (a job costs its fields, about 30 bytes plus 10 per
    /// target, not an object and three arrays of its own); preallocated, so queueing allocates nothing. A job is
    /// filled in the one <see cref="ForwardJob"/> that <see cref="Reserve"/> hands out and stored by
    /// <see cref="Commit"/>. The jobs' targets share one ring of pooled entries (jobs leave in the order they came,
    /// so their targets do too): a queue of relay jobs that name up to 8 targets each but mostly one or two needs no
    /// room for 8 per job; a job whose targets do not fit the pool is refused like one that finds the queue full.
    /// Not thread-safe.
    /// </summary>
    public sealed class ForwardQueue
    {
        private readonly int _maxTargets;
        private readonly byte[] _kind;
        private readonly uint[] _imageId;
        private readonly int[] _index;
        private readonly byte[] _noticeKind;
        private readonly long[] _receivedAtMs;
        private readonly uint[] _excludeNode;
        private readonly byte[] _targetCount;
        private readonly byte[] _relayCount;
        private readonly byte[] _copyFlags;
        private readonly ushort[] _span;
        private readonly uint[] _targetNode;
        private readonly uint[] _targetIp;
        private readonly ushort[] _targetPort;
        private readonly ForwardJob _slot;
        private int _head;
        private int _count;
        private int _poolHead;
        private int _poolUsed;

        public ForwardQueue(int capacity) : this(capacity, Shared.Protocol.DataPacket.MaxTargets)
        {
        }

        /// <summary>A ring of capacity jobs with room for maxTargets targets each (at most DataPacket.MaxTargets).</summary>
        public ForwardQueue(int capacity, int maxTargets) : this(capacity, maxTargets, capacity * maxTargets)
        {
        }

        /// <summary>A ring of capacity jobs of up to maxTargets targets each (at most DataPacket.MaxTargets), with
        /// poolTargets targets for all queued jobs together (at least maxTargets, so any one job fits an empty queue).</summary>
        public ForwardQueue(int capacity, int maxTargets, int poolTargets)
        {
            if (poolTargets < maxTargets) poolTargets = maxTargets;
            _maxTargets = maxTargets;
            _kind = new byte[capacity];
            _imageId = new uint[capacity];
            _index = new int[capacity];
            _noticeKind = new byte[capacity];
            _receivedAtMs = new long[capacity];
            _excludeNode = new uint[capacity];
            _targetCount = new byte[capacity];
            _relayCount = new byte[capacity];
            _copyFlags = new byte[capacity];
            _span = new ushort[capacity];
            _targetNode = new uint[poolTargets];
            _targetIp = new uint[poolTargets];
            _targetPort = new ushort[poolTargets];
            _slot = new ForwardJob(maxTargets);
        }

        public int Count { get { return _count; } }
        public int Capacity { get { return _kind.Length; } }
        public bool IsFull { get { return _count == _kind.Length; } }

        /// <summary>The job to fill for a new entry, or null when full. Call Commit after filling it (the same
        /// object is handed out every time: do not keep it).</summary>
        public ForwardJob Reserve()
        {
            if (_count == _kind.Length) return null;
            return _slot;
        }

        /// <summary>Targets the queued jobs may hold together.</summary>
        public int PoolTargets { get { return _targetNode.Length; } }

        /// <summary>Stores the job filled since Reserve at the tail; false (nothing stored) when the queue is full or
        /// the job's targets do not fit what the queued jobs leave of the pool.</summary>
        public bool Commit()
        {
            if (_count == _kind.Length) return false;
            ForwardJob j = _slot;
            int n = j.TargetCount < _maxTargets ? j.TargetCount : _maxTargets;
            if (n < 0) n = 0;
            int pool = _targetNode.Length;
            if (_poolUsed + n > pool) return false;
            int at = (_head + _count) % _kind.Length;
            _kind[at] = j.Kind;
            _imageId[at] = j.ImageId;
            _index[at] = j.Index;
            _noticeKind[at] = j.NoticeKind;
            _receivedAtMs[at] = j.ReceivedAtMs;
            _excludeNode[at] = j.ExcludeNode;
            _targetCount[at] = (byte)n;
            _relayCount[at] = (byte)(j.RelayCount < 255 ? j.RelayCount : 255);
            _copyFlags[at] = j.CopyFlags;
            _span[at] = (ushort)(j.Span < 0 ? 0 : j.Span > 65535 ? 65535 : j.Span);
            int t = (_poolHead + _poolUsed) % pool;
            for (int i = 0; i < n; i++)
            {
                _targetNode[t] = j.TargetNode[i];
                _targetIp[t] = j.TargetIp[i];
                _targetPort[t] = (ushort)j.TargetPort[i];
                t = (t + 1) % pool;
            }
            _poolUsed += n;
            _count++;
            return true;
        }

        /// <summary>Copies the oldest job into target and removes it; false when empty.</summary>
        public bool TryDequeue(ForwardJob target)
        {
            if (_count == 0) return false;
            int at = _head;
            target.Kind = _kind[at];
            target.ImageId = _imageId[at];
            target.Index = _index[at];
            target.NoticeKind = _noticeKind[at];
            target.ReceivedAtMs = _receivedAtMs[at];
            target.ExcludeNode = _excludeNode[at];
            target.RelayCount = _relayCount[at];
            target.CopyFlags = _copyFlags[at];
            target.Span = _span[at];
            int stored = _targetCount[at];
            int n = stored < target.MaxTargets ? stored : target.MaxTargets;
            target.TargetCount = n;
            int pool = _targetNode.Length;
            int t = _poolHead;
            for (int i = 0; i < n; i++)
            {
                target.TargetNode[i] = _targetNode[t];
                target.TargetIp[i] = _targetIp[t];
                target.TargetPort[i] = _targetPort[t];
                t = (t + 1) % pool;
            }
            _poolHead = (_poolHead + stored) % pool;
            _poolUsed -= stored;
            _head = (_head + 1) % _kind.Length;
            _count--;
            return true;
        }

        /// <summary>Sets the relay count of the queued job for this packet and kind; false when there is none.</summary>
        public bool SetRelayCount(uint imageId, int index, byte kind, int relayCount)
        {
            for (int i = 0; i < _count; i++)
            {
                int at = (_head + i) % _kind.Length;
                if (_imageId[at] == imageId && _index[at] == index && _kind[at] == kind)
                {
                    _relayCount[at] = (byte)(relayCount < 255 ? relayCount : 255);
                    return true;
                }
            }
            return false;
        }

        public void Clear()
        {
            _head = 0;
            _count = 0;
            _poolHead = 0;
            _poolUsed = 0;
        }
    }
}
