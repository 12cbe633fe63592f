namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>A fixed ring of forward jobs; preallocated, so queueing allocates nothing. Not thread-safe.</summary>
    public sealed class ForwardQueue
    {
        private readonly ForwardJob[] _ring;
        private int _head;
        private int _count;

        public ForwardQueue(int capacity)
        {
            _ring = new ForwardJob[capacity];
            for (int i = 0; i < capacity; i++) _ring[i] = new ForwardJob();
        }

        public int Count { get { return _count; } }
        public int Capacity { get { return _ring.Length; } }
        public bool IsFull { get { return _count == _ring.Length; } }

        /// <summary>The slot to fill for a new job, or null when full. Call Commit after filling it.</summary>
        public ForwardJob Reserve()
        {
            if (_count == _ring.Length) return null;
            return _ring[(_head + _count) % _ring.Length];
        }

        public void Commit()
        {
            _count++;
        }

        /// <summary>Copies the oldest job into target and removes it; false when empty.</summary>
        public bool TryDequeue(ForwardJob target)
        {
            if (_count == 0) return false;
            target.CopyFrom(_ring[_head]);
            _head = (_head + 1) % _ring.Length;
            _count--;
            return true;
        }

        /// <summary>The queued job for this packet and kind, or null.</summary>
        public ForwardJob Find(uint imageId, int index, byte kind)
        {
            for (int i = 0; i < _count; i++)
            {
                ForwardJob j = _ring[(_head + i) % _ring.Length];
                if (j.ImageId == imageId && j.Index == index && j.Kind == kind) return j;
            }
            return null;
        }

        public void Clear()
        {
            _head = 0;
            _count = 0;
        }
    }
}
