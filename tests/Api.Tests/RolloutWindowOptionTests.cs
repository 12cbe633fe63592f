using IotOta.Gateway.Cli;

namespace IotOta.Api.Tests;

/// <summary>`rollout --window`: seconds or a number with s/m/h/d, 1 s .. 30 days, a clear error otherwise.</summary>
public class RolloutWindowOptionTests
{
    [Theory]
    [InlineData("90", 90)]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("24h", 86400)]
    [InlineData("7d", 604800)]
    [InlineData(" 1.5H ", 5400)]
    public void Parses_durations(string text, double seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), RolloutWindow.Parse(text));

    [Theory]
    [InlineData("", "not a duration")]
    [InlineData("abc", "not a duration")]
    [InlineData("5w", "unit must be s, m, h or d")]
    [InlineData("0", "between 1 s and 30 days")]
    [InlineData("-3h", "between 1 s and 30 days")]
    [InlineData("31d", "between 1 s and 30 days")]
    public void Refuses_bad_windows_with_a_message(string text, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => RolloutWindow.Parse(text));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Formats_in_the_largest_whole_unit()
    {
        Assert.Equal("24h", RolloutWindow.Format(RolloutWindow.Default));
        Assert.Equal("15m", RolloutWindow.Format(TimeSpan.FromMinutes(15)));
        Assert.Equal("2d", RolloutWindow.Format(TimeSpan.FromDays(2)));
        Assert.Equal("90s", RolloutWindow.Format(TimeSpan.FromSeconds(90)));
    }
}
