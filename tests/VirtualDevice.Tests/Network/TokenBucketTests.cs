using System.Diagnostics;
using IotOta.VirtualDevice.Network;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.VirtualDevice.Tests.Network;

public sealed class TokenBucketTests
{
    [Fact]
    public void Burst_passes_at_once_then_waits_for_fake_time()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(1000, 500, time);
        bucket.Consume(500); // the burst: no wait

        var done = new ManualResetEventSlim();
        var t = new Thread(() => { bucket.Consume(1000); done.Set(); }) { IsBackground = true };
        t.Start();
        Assert.False(done.Wait(50), "1000 bytes at 1000 B/s must wait for time to pass");
        time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.False(done.Wait(50), "900 ms is not enough for 1000 bytes");
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(done.Wait(2000), "1000 ms of fake time lets 1000 bytes pass");
        Assert.Equal(1500, bucket.TotalConsumed);
    }

    [Fact]
    public void A_link_gets_no_credit_for_idle_time_so_nothing_passes_faster_than_its_rate()
    {
        var time = new FakeTimeProvider();
        var link = new TokenBucket(1000, 500, time, creditWhileIdle: false);
        long start = time.GetTimestamp();
        var done = new ManualResetEventSlim();
        // from power-on: the first 500 bytes wait their own 500 ms
        var t = new Thread(() => { link.Consume(500); done.Set(); }) { IsBackground = true };
        t.Start();
        Assert.False(done.Wait(50), "a fresh link has no burst to give");
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(done.Wait(2000));
        // idle for a minute: still no credit, the next 500 bytes take 500 ms again
        time.Advance(TimeSpan.FromMinutes(1));
        done.Reset();
        t = new Thread(() => { link.Consume(500); done.Set(); }) { IsBackground = true };
        t.Start();
        Assert.False(done.Wait(50), "idle time is no credit");
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(done.Wait(2000));
        // a short pause while busy keeps what refilled meanwhile (up to the burst)
        time.Advance(TimeSpan.FromMilliseconds(200));
        link.Consume(200);
        Assert.Equal(1200, link.TotalConsumed);
    }

    [Fact]
    public void Several_threads_together_keep_to_the_rate()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(10_000, 1000, time);
        int finished = 0;
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 5; i++) bucket.Consume(1000);
            Interlocked.Increment(ref finished);
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        // 20 000 bytes, 1000 of them burst: 19 000 bytes need 1.9 s at 10 000 B/s.
        for (int ms = 0; ms < 1800; ms += 100)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            Thread.Sleep(2);
        }
        Thread.Sleep(50);
        Assert.True(Volatile.Read(ref finished) < 4, "all 20 000 bytes passed in 1.8 s of fake time");
        // A thread that the OS ran late reserved its bytes at a later fake time, so keep the clock going (bounded).
        for (int step = 0; step < 100 && !threads.All(t => t.Join(20)); step++) time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(threads.All(t => t.Join(3000)), "threads did not finish within 10 s more of fake time");
        Assert.Equal(20_000, bucket.TotalConsumed);
    }

    [Fact]
    public async Task ConsumeAsync_waits_for_fake_time_and_can_be_cancelled()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(100, 100, time);
        await bucket.ConsumeAsync(100, CancellationToken.None); // burst
        Task wait = bucket.ConsumeAsync(100, CancellationToken.None);
        await Task.Delay(20);
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await wait.WaitAsync(TimeSpan.FromSeconds(2));

        using var cts = new CancellationTokenSource();
        Task cancelled = bucket.ConsumeAsync(1000, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(200, bucket.TotalConsumed);
    }

    [Fact]
    public void Consume_can_be_cancelled()
    {
        var bucket = new TokenBucket(10, 10);
        bucket.Consume(10);
        using var cts = new CancellationTokenSource(50);
        Assert.ThrowsAny<OperationCanceledException>(() => bucket.Consume(1000, cts.Token));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.PositiveInfinity)]
    public void Unlimited_rates_never_wait(double rate)
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(rate, 1, time);
        Assert.True(bucket.IsUnlimited);
        var sw = Stopwatch.StartNew();
        bucket.Consume(100_000_000);
        Assert.True(sw.ElapsedMilliseconds < 1000);
    }

    [Fact]
    public void Real_time_rate_is_roughly_kept()
    {
        var bucket = new TokenBucket(1_000_000, 16 * 1024);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 200; i++) bucket.Consume(1000);
        Assert.True(sw.Elapsed.TotalSeconds >= 0.15, $"200 KB at 1 MB/s took {sw.Elapsed.TotalSeconds:F3} s");
    }

    [Fact]
    public void A_serializer_brings_no_credit_from_before_its_first_byte()
    {
        var time = new FakeTimeProvider();
        var link = TokenBucket.Serializer(1000, TimeSpan.FromMilliseconds(50), time);
        time.Advance(TimeSpan.FromMilliseconds(40)); // created shortly before the rollout: not yet a full refill
        var done = new ManualResetEventSlim();
        var t = new Thread(() => { link.Consume(40); done.Set(); }) { IsBackground = true };
        t.Start();
        Assert.False(done.Wait(50), "the 40 ms before the first byte are no credit");
        time.Advance(TimeSpan.FromMilliseconds(40));
        Assert.True(done.Wait(2000));
    }

    [Fact]
    public void A_serializer_keeps_the_time_a_slow_host_took_to_wake_its_sender_but_not_a_longer_pause()
    {
        var time = new FakeTimeProvider();
        var link = TokenBucket.Serializer(1000, TimeSpan.FromMilliseconds(50), time);
        var done = new ManualResetEventSlim();
        var t = new Thread(() => { link.Consume(100); done.Set(); }) { IsBackground = true };
        t.Start();
        Assert.False(done.Wait(50));
        time.Advance(TimeSpan.FromMilliseconds(130)); // the sender wakes 30 ms after its 100 ms
        Assert.True(done.Wait(2000));
        var sw = Stopwatch.StartNew();
        link.Consume(30); // the 30 ms the host took are the link's: these pass at once
        Assert.True(sw.ElapsedMilliseconds < 1000);
        time.Advance(TimeSpan.FromMilliseconds(200)); // a real pause, longer than the slop: no credit
        done.Reset();
        t = new Thread(() => { link.Consume(30); done.Set(); }) { IsBackground = true };
        t.Start();
        Assert.False(done.Wait(50), "a pause past the slop is idle time, not credit");
        time.Advance(TimeSpan.FromMilliseconds(30));
        Assert.True(done.Wait(2000));
        Assert.Equal(160, link.TotalConsumed);
    }
}
