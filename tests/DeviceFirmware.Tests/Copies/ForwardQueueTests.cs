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
