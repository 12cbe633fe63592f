using IotOta.Simulation.Fleet;

namespace IotOta.Simulation.Tests.Fleet;

public class FileLimitTests
{
    [Fact]
    public void Two_groups_of_one_hundred_in_a_full_mesh_are_refused_under_twenty_thousand_open_files_with_the_shape_and_the_limit()
    {
        string? why = FileLimit.WhyNotFits(200, 2, 20_000, peerConnections: 0);
        Assert.NotNull(why);
        Assert.Contains("200 devices in 2 groups (up to 100 per group)", why);
        Assert.Contains($"about {FileLimit.Needed(200, 2, 0)} open files", why);
        Assert.Contains("every member of a group keeps a peer connection to every other member", why);
        Assert.Contains("may open 20000", why);
        Assert.Contains("--groups", why);
    }

    [Fact]
    public void With_a_socket_budget_the_need_grows_with_the_devices_not_the_group_size()
    {
        // K ends per device: two groups of 100 need the same as twenty groups of 10.
        Assert.Equal(FileLimit.Needed(200, 20, 6), FileLimit.Needed(200, 2, 6));
        Assert.True(FileLimit.Needed(200, 2, 6) < FileLimit.Needed(200, 2, 0) / 10);
        Assert.Null(FileLimit.WhyNotFits(200, 2, 20_000, peerConnections: 6));
        Assert.Null(FileLimit.WhyNotFits(1000, 9, 20_000, peerConnections: 12));
    }

    [Fact]
    public void A_fleet_past_the_limit_even_with_a_budget_is_refused_naming_the_budget()
    {
        string? why = FileLimit.WhyNotFits(5000, 9, 20_000, peerConnections: 6);
        Assert.NotNull(why);
        Assert.Contains("5000 devices in 9 groups", why);
        Assert.Contains("up to 6 peer connections", why);
        Assert.Contains("--peer-connections", why);
    }

    [Fact]
    public void The_default_demo_fits_and_an_unknown_limit_refuses_nothing()
    {
        Assert.Null(FileLimit.WhyNotFits(30, 3, 20_000));
        Assert.Null(FileLimit.WhyNotFits(200, 20, 20_000, peerConnections: 0)); // groups of 10
        Assert.Null(FileLimit.WhyNotFits(200, 2, -1, peerConnections: 0));
    }
}
