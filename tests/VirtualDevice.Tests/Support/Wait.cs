using System.Diagnostics;

namespace IotOta.VirtualDevice.Tests.Support;

public static class Wait
{
    /// <summary>Polls <paramref name="condition"/> every few ms; true as soon as it holds, false after the timeout.</summary>
    public static bool Until(Func<bool> condition, int timeoutMs = 5000)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs) return false;
            Thread.Sleep(5);
        }
        return true;
    }

    public static async Task<bool> UntilAsync(Func<bool> condition, int timeoutMs = 5000)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs) return false;
            await Task.Delay(5);
        }
        return true;
    }
}
