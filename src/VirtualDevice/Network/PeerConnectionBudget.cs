namespace IotOta.VirtualDevice.Network;

/// <summary>
/// A device's socket budget for the second network: at most <see cref="Limit"/> peer connections open at once,
/// inbound and outbound together, as lwIP's fixed socket table allows a board (ESP-IDF's CONFIG_LWIP_MAX_SOCKETS is
/// 10 by default; MQTT and the listener take their share). A connection that would go past the limit first takes the
/// place of an idle one, as a board that closes idle sockets would: an outbound connection not sending (closing it
/// loses nothing: what it sent still arrives), else the inbound connection idle longest (no frame in flight for at
/// least <see cref="MinIdleBeforeEvict"/>; the network drains it rather than cutting it off, so a frame its sender wrote
/// before it could see the connection go is still delivered: <see cref="PeerInbound.Drain"/>). When none can go, the new
/// connection waits for a free socket up to <see cref="MaxWait"/> (an inbound one stays in the listen backlog meanwhile,
/// so nothing it carries is lost) and is then refused and counted (an inbound one drained the same way). Limit 0 =
/// unlimited. Thread-safe.
/// </summary>
public sealed class PeerConnectionBudget
{
    private readonly object _gate = new();
    private readonly List<Slot> _open = new();
    private readonly TimeProvider _time;
    private int _highWater;
    private long _refused, _evicted;

    public PeerConnectionBudget(int limit, TimeSpan? minIdleBeforeEvict = null, TimeProvider? time = null, TimeSpan? maxWait = null)
    {
        if (limit < 0) throw new ArgumentOutOfRangeException(nameof(limit), limit, "a connection limit must be 0 (unlimited) or positive");
        Limit = limit;
        MinIdleBeforeEvict = minIdleBeforeEvict ?? TimeSpan.FromMilliseconds(100);
        MaxWait = maxWait ?? TimeSpan.FromSeconds(2);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How long a new connection waits for a free socket before it is refused.</summary>
    public TimeSpan MaxWait { get; }
    private const int WaitStepMs = 5;

    /// <summary>Most peer connections open at once; 0 = unlimited.</summary>
    public int Limit { get; }
    /// <summary>An inbound connection this recently used is not closed to make room.</summary>
    public TimeSpan MinIdleBeforeEvict { get; }

    /// <summary>Connections open now.</summary>
    public int OpenCount
    {
        get { lock (_gate) return _open.Count; }
    }

    /// <summary>Most connections that were open at once.</summary>
    public int HighWater
    {
        get { lock (_gate) return _highWater; }
    }

    /// <summary>Connections refused because every slot was busy (inbound closed at once, outbound not made).</summary>
    public long Refused => Interlocked.Read(ref _refused);
    /// <summary>Idle connections closed to make room for a new one.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Takes a slot for a new connection, closing the longest-idle connection when the budget is full.
    /// Returns null (and counts a refusal) when every open connection is busy. <paramref name="close"/> closes the
    /// connection when the budget evicts it.</summary>
    public Slot? TryOpen(bool inbound, Action close) => TryOpen(inbound, close, countRefusal: true);

    /// <summary>Takes a slot, waiting (in small sleeps) up to <see cref="MaxWait"/> for one to free; null (counted)
    /// when none did or <paramref name="ct"/> was cancelled. <paramref name="inUse"/>: the connection is made to send a
    /// frame now, so the slot comes already in use (as after <see cref="Slot.BeginUse"/>; the caller ends it with
    /// <see cref="Slot.EndUse"/>): a new outbound connection is not closed to make room for another before its first
    /// frame went out (a relay copy failed that way, and its group got the packet from the gateway again).</summary>
    public Slot? Open(bool inbound, Action close, CancellationToken ct = default, bool inUse = false)
    {
        long start = _time.GetTimestamp();
        while (true)
        {
            Slot? s = TryOpen(inbound, close, countRefusal: false, inUse);
            if (s != null) return s;
            if (ct.IsCancellationRequested || _time.GetElapsedTime(start) >= MaxWait) return Refuse();
            Thread.Sleep(WaitStepMs);
        }
    }

    /// <summary>As <see cref="Open"/>, without blocking a thread while it waits.</summary>
    public async Task<Slot?> OpenAsync(bool inbound, Action close, CancellationToken ct = default)
    {
        long start = _time.GetTimestamp();
        while (true)
        {
            Slot? s = TryOpen(inbound, close, countRefusal: false);
            if (s != null) return s;
            if (ct.IsCancellationRequested || _time.GetElapsedTime(start) >= MaxWait) return Refuse();
            try { await Task.Delay(WaitStepMs, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return Refuse(); }
        }
    }

    private Slot? Refuse()
    {
        Interlocked.Increment(ref _refused);
        return null;
    }

    private Slot? TryOpen(bool inbound, Action close, bool countRefusal, bool inUse = false)
    {
        ArgumentNullException.ThrowIfNull(close);
        Slot? victim = null;
        Slot mine;
        lock (_gate)
        {
            if (Limit > 0 && _open.Count >= Limit)
            {
                long now = _time.GetTimestamp();
                foreach (Slot s in _open)
                {
                    if (s.Busy > 0) continue;
                    // an outbound connection not sending can always go; an inbound one only when idle a while
                    if (s.Inbound && _time.GetElapsedTime(s.LastUsed, now) < MinIdleBeforeEvict) continue;
                    if (victim == null || (victim.Inbound && !s.Inbound) || (victim.Inbound == s.Inbound && s.LastUsed < victim.LastUsed)) victim = s;
                }
                if (victim == null)
                {
                    if (countRefusal) Interlocked.Increment(ref _refused);
                    return null;
                }
                _open.Remove(victim);
                victim.Closed = true;
                Interlocked.Increment(ref _evicted);
            }
            mine = new Slot(this, inbound, close) { LastUsed = _time.GetTimestamp(), Busy = inUse ? 1 : 0 };
            _open.Add(mine);
            if (_open.Count > _highWater) _highWater = _open.Count;
        }
        victim?.CloseAction();
        return mine;
    }

    private void Release(Slot s)
    {
        lock (_gate)
        {
            if (s.Closed) return;
            s.Closed = true;
            _open.Remove(s);
        }
    }

    /// <summary>One open connection's place in the budget.</summary>
    public sealed class Slot
    {
        private readonly PeerConnectionBudget _owner;

        internal Slot(PeerConnectionBudget owner, bool inbound, Action close)
        {
            _owner = owner;
            Inbound = inbound;
            CloseAction = close;
        }

        public bool Inbound { get; }
        internal Action CloseAction { get; }
        internal long LastUsed;
        internal int Busy;
        internal bool Closed;

        /// <summary>A frame starts on this connection: it is not closed to make room until <see cref="EndUse"/>.
        /// False when the budget already closed it (the caller connects again).</summary>
        public bool BeginUse()
        {
            lock (_owner._gate)
            {
                if (Closed) return false;
                Busy++;
                LastUsed = _owner._time.GetTimestamp();
                return true;
            }
        }

        public void EndUse()
        {
            lock (_owner._gate)
            {
                if (Busy > 0) Busy--;
                LastUsed = _owner._time.GetTimestamp();
            }
        }

        /// <summary>The connection closed (either end): its slot is free again.</summary>
        public void Release() => _owner.Release(this);
    }
}
