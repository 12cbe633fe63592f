using IotOta.DeviceFirmware.Copies;

namespace IotOta.DeviceFirmware.Tests.Copies;

public class ForwardQueueTests
{
    private static void Put(ForwardQueue q, int index, int targets = 0)
    {
        ForwardJob j = q.Reserve()!;
        Assert.NotNull(j);
        j.Kind = ForwardJob.KindMinimumUnit;
        j.ImageId = 77;
        j.Index = index;
        j.TargetCount = targets;
        for (int i = 0; i < targets; i++)
        {
            j.TargetNode[i] = (uint)(100 + index + i);
            j.TargetIp[i] = 0x0100007F;
            j.TargetPort[i] = 2000 + i;
        }
        q.Commit();
    }

    [Fact]
    public void Jobs_come_out_in_order_with_their_targets()
    {
        var q = new ForwardQueue(4);
        Put(q, 1, targets: 2);
        Put(q, 2, targets: 0);
        Assert.Equal(2, q.Count);
        var w = new ForwardJob();
        Assert.True(q.TryDequeue(w));
        Assert.Equal(1, w.Index);
        Assert.Equal(77u, w.ImageId);
        Assert.Equal(2, w.TargetCount);
        Assert.Equal(new uint[] { 101, 102 }, w.TargetNode.Take(2));
        Assert.Equal(new[] { 2000, 2001 }, w.TargetPort.Take(2));
        Assert.True(q.TryDequeue(w));
        Assert.Equal(2, w.Index);
        Assert.Equal(0, w.TargetCount);
        Assert.False(q.TryDequeue(w));
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void Full_queue_reserves_nothing_until_a_job_is_taken()
    {
        var q = new ForwardQueue(3);
        Put(q, 0); Put(q, 1); Put(q, 2);
        Assert.True(q.IsFull);
        Assert.Null(q.Reserve());
        var w = new ForwardJob();
        Assert.True(q.TryDequeue(w));
        Assert.False(q.IsFull);
        Assert.NotNull(q.Reserve());
    }

    [Fact]
    public void Ring_wraps_around_many_times_in_order()
    {
        var q = new ForwardQueue(3);
        var w = new ForwardJob();
        int next = 0;
        for (int i = 0; i < 20; i++)
        {
            Put(q, i);
            if (i % 2 == 1)
            {
                Assert.True(q.TryDequeue(w));
                Assert.Equal(next++, w.Index);
                Assert.True(q.TryDequeue(w));
                Assert.Equal(next++, w.Index);
            }
        }
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void Reserve_without_commit_does_not_enqueue()
    {
        var q = new ForwardQueue(2);
        Assert.NotNull(q.Reserve());
        Assert.Equal(0, q.Count);
        Assert.False(q.TryDequeue(new ForwardJob()));
    }

    [Fact]
    public void Clear_empties_the_queue()
    {
        var q = new ForwardQueue(2);
        Put(q, 0); Put(q, 1);
        q.Clear();
        Assert.Equal(0, q.Count);
        Assert.False(q.TryDequeue(new ForwardJob()));
        Assert.Equal(2, q.Capacity);
    }

    private static bool TryPut(ForwardQueue q, int index, int targets)
    {
        ForwardJob? j = q.Reserve();
        if (j == null) return false;
        j.Kind = ForwardJob.KindRelay;
        j.ImageId = 77;
        j.Index = index;
        j.TargetCount = targets;
        for (int i = 0; i < targets; i++)
        {
            j.TargetNode[i] = (uint)(1000 * index + i);
            j.TargetIp[i] = (uint)(0x0A000000 + 1000 * index + i);
            j.TargetPort[i] = 20000 + 10 * index + i;
        }
        return q.Commit();
    }

    [Fact]
    public void A_job_whose_targets_do_not_fit_the_pool_is_refused_and_the_pool_wraps_without_mixing_targets()
    {
        var q = new ForwardQueue(4, 4, 6);
        Assert.Equal(6, q.PoolTargets);
        Assert.True(TryPut(q, 1, 3));
        Assert.True(TryPut(q, 2, 2));
        Assert.False(TryPut(q, 3, 2)); // 5 of 6 pooled targets in use
        Assert.Equal(2, q.Count);
        Assert.True(TryPut(q, 4, 1));
        var w = new ForwardJob();
        Assert.True(q.TryDequeue(w)); // frees job 1's three targets
        Assert.Equal(1, w.Index);
        Assert.True(TryPut(q, 5, 3)); // wraps around the end of the pool
        foreach (int expected in new[] { 2, 4, 5 })
        {
            Assert.True(q.TryDequeue(w));
            Assert.Equal(expected, w.Index);
            int n = expected == 2 ? 2 : expected == 4 ? 1 : 3;
            Assert.Equal(n, w.TargetCount);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal((uint)(1000 * expected + i), w.TargetNode[i]);
                Assert.Equal((uint)(0x0A000000 + 1000 * expected + i), w.TargetIp[i]);
                Assert.Equal(20000 + 10 * expected + i, w.TargetPort[i]);
            }
        }
        Assert.Equal(0, q.Count);
        Assert.True(TryPut(q, 6, 4)); // an empty queue has the whole pool again
        Assert.True(TryPut(q, 7, 2));
        Assert.False(TryPut(q, 8, 1));
    }

    [Fact]
    public void Pooled_queue_matches_a_plain_model_over_random_operations()
    {
        var rnd = new Random(17);
        var q = new ForwardQueue(16, 8, 32);
        var model = new Queue<(int Index, int Targets)>();
        int used = 0, next = 0;
        var w = new ForwardJob();
        for (int step = 0; step < 20000; step++)
        {
            if (rnd.Next(3) != 0)
            {
                int t = rnd.Next(0, 9);
                bool fits = model.Count < 16 && used + t <= 32;
                Assert.Equal(fits, TryPut(q, next, t));
                if (fits)
                {
                    model.Enqueue((next, t));
                    used += t;
                }
                next = (next + 1) % 1000;
            }
            else if (model.Count > 0)
            {
                var (index, targets) = model.Dequeue();
                used -= targets;
                Assert.True(q.TryDequeue(w));
                Assert.Equal(index, w.Index);
                Assert.Equal(targets, w.TargetCount);
                for (int i = 0; i < targets; i++) Assert.Equal((uint)(1000 * index + i), w.TargetNode[i]);
            }
            else Assert.False(q.TryDequeue(w));
            Assert.Equal(model.Count, q.Count);
        }
    }

    [Fact]
    public void A_span_copy_keeps_its_span_through_the_queue()
    {
        var q = new ForwardQueue(3, 1);
        foreach (int span in new[] { 7, 0, 65535 })
        {
            ForwardJob j = q.Reserve()!;
            j.Kind = ForwardJob.KindSpanCopy;
            j.Index = span % 100;
            j.Span = span;
            j.TargetCount = 0;
            q.Commit();
        }
        var w = new ForwardJob(1) { Span = 99 };
        foreach (int span in new[] { 7, 0, 65535 })
        {
            Assert.True(q.TryDequeue(w));
            Assert.Equal(ForwardJob.KindSpanCopy, w.Kind);
            Assert.Equal(span, w.Span);
        }
    }
}
