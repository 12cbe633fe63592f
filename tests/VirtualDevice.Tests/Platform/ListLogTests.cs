using IotOta.VirtualDevice.Platform;

namespace IotOta.VirtualDevice.Tests.Platform;

public sealed class ListLogTests
{
    [Fact]
    public void Keeps_only_the_last_lines_and_forwards_all()
    {
        var forwarded = new List<string>();
        var log = new ListLog(3, forwarded.Add);
        for (int i = 0; i < 5; i++) log.Log("line " + i);
        Assert.Equal(new[] { "line 2", "line 3", "line 4" }, log.Messages);
        Assert.Equal(5, forwarded.Count);
        Assert.Equal(5, log.TotalLogged);
        Assert.True(log.Contains("line 4"));
        Assert.False(log.Contains("line 0"));
        log.Clear();
        Assert.Empty(log.Messages);
    }

    [Fact]
    public void Is_safe_from_several_threads()
    {
        var log = new ListLog(100_000);
        Parallel.For(0, 8, t =>
        {
            for (int i = 0; i < 1000; i++) log.Log(t + ":" + i);
        });
        Assert.Equal(8000, log.Messages.Count);
        Assert.Equal(8000, log.TotalLogged);
    }
}
