using IotOta.Simulation.Fleet;

namespace IotOta.Simulation.Tests.Fleet;

public class FileLimitTests
{
    [Fact]
    public void Two_groups_of_one_hundred_are_refused_under_twenty_thousand_open_files_with_the_shape_and_the_limit()
    {
        string? why = FileLimit.WhyNotFits(200, 2, 20_000);
        Assert.NotNull(why);
        Assert.Contains("200 devices in 2 groups (up to 100 per group)", why);
        Assert.Contains($"about {FileLimit.Needed(200, 2)} open files", why);
        Assert.Contains("may open 20000", why);
        Assert.Contains("--groups", why);
    }

    [Fact]
    public void The_default_demo_fits_and_an_unknown_limit_refuses_nothing()
    {
        Assert.Null(FileLimit.WhyNotFits(30, 3, 20_000));
        Assert.Null(FileLimit.WhyNotFits(200, 20, 20_000)); // groups of 10
        Assert.Null(FileLimit.WhyNotFits(200, 2, -1));
    }
}
