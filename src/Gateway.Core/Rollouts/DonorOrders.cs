using System.Collections.Concurrent;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>
/// Repair requests the gateway hands to donors on behalf of a device (see Scheduling/DonorSelector): each is an
/// ordinary <see cref="RepairRequest"/> naming the requester, with only the packets that donor was chosen for, published
/// to the donor's in-topic; the donor answers it as it answers a peer's request, over the second network. Costs the
/// first network a control message of 20 bytes + one bit per packet instead of the packets themselves. A cross-group
/// order (the donor is in another group) carries the requester's peer endpoint in the target tail (8 bytes more) and
/// asks for relay copies: the requester copies them on inside its group as a minimum unit. Thread-safe.
/// </summary>
public sealed class DonorOrders
{
    private readonly ConcurrentQueue<(uint Donor, byte[] Message, bool Across)> _queue = new();
    private long _orders, _packets;

    /// <summary>Donor orders published.</summary>
    public long Sent => Interlocked.Read(ref _orders);
    /// <summary>Packets handed to donors in those orders.</summary>
    public long PacketsDelegated => Interlocked.Read(ref _packets);

    /// <summary>Cross-group orders published (included in <see cref="Sent"/>).</summary>
    public long SentAcross => Interlocked.Read(ref _across);
    private long _across;

    public void Add(uint requester, uint imageId, int chunkCount, uint donor, IReadOnlyList<int> packets)
        => Add(requester, imageId, chunkCount, donor, packets, 0, 0);

    /// <summary>An order; with a peer endpoint (<paramref name="requesterPort"/> &gt; 0) a cross-group one: the donor
    /// sends relay copies to <paramref name="requesterIp"/>:<paramref name="requesterPort"/>.</summary>
    public void Add(uint requester, uint imageId, int chunkCount, uint donor, IReadOnlyList<int> packets, uint requesterIp, int requesterPort)
    {
        if (packets.Count == 0) return;
        var bits = new byte[PacketBitmap.ByteLength(chunkCount)];
        foreach (int k in packets) bits[k >> 3] |= (byte)(1 << (k & 7));
        var rq = new RepairRequest
        {
            NodeId = requester,
            ImageId = imageId,
            ChunkCount = chunkCount,
            MaxReplies = Math.Min(packets.Count, ushort.MaxValue),
            MissingBuffer = bits,
            MissingOffset = 0,
            HasTarget = requesterPort > 0,
            TargetIp = requesterIp,
            TargetPort = requesterPort,
            TargetMode = RepairRequest.ModeRelay,
        };
        var msg = new byte[RepairRequest.EncodedLength(chunkCount, rq.HasTarget)];
        int n = rq.Encode(msg, 0);
        if (n != msg.Length) Array.Resize(ref msg, n);
        _queue.Enqueue((donor, msg, rq.HasTarget));
        Interlocked.Add(ref _packets, packets.Count);
    }

    public bool TryTake(out uint donor, out byte[] message)
    {
        if (_queue.TryDequeue(out var e))
        {
            donor = e.Donor;
            message = e.Message;
            Interlocked.Increment(ref _orders);
            if (e.Across) Interlocked.Increment(ref _across);
            return true;
        }
        donor = 0;
        message = Array.Empty<byte>();
        return false;
    }
}
