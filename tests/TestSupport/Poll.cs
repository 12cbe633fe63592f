namespace IotOta.TestSupport;

/// <summary>Waits for a condition that real sockets or threads make true soon: polls every 20 ms, and fails with
/// <paramref name="what"/> after the timeout (15 s unless given).</summary>
public static class Poll
{
    public static async Task Until(Func<bool> done, string what, double seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(20);
        }
    }
}
