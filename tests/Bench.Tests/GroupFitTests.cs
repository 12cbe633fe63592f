using IotOta.BoardProfiles;
using IotOta.Simulation.Demo;

namespace IotOta.Bench.Tests;

/// <summary>Issue #14 item 8: a fleet shape its devices cannot hold is refused before anything starts, naming the
/// devices and the limit.</summary>
public class GroupFitTests
{
    [Fact]
    public void Shapes_that_fit_pass()
    {
        Assert.Null(GroupFit.Problem(200, 2, [], null));
        Assert.Null(GroupFit.Problem(1000, 9, [], null));
        Assert.Null(GroupFit.Problem(1000, 1, [], 0)); // one group of 1,000 (0 = unlimited sockets)
    }

    [Fact]
    public void A_group_larger_than_a_member_list_can_name_is_refused()
    {
        // esp32-c3 names at most 32 members: 100 devices in 2 groups of 50 do not fit
        var c3 = BoardProfile.Named("esp32-c3");
        string? why = GroupFit.Problem(100, 2, [c3], null);
        Assert.NotNull(why);
        Assert.Contains("50 members", why);
        Assert.Contains("at most 32", why);
        Assert.Contains("100 devices (1, 2, 3", why);
        Assert.Contains("esp32-c3", why);
        Assert.Null(GroupFit.Problem(100, 4, [c3], null));
        // the virtual device's list holds a whole protocol list (1,024): one group of 1,100 does not fit
        Assert.Contains("at most 1024", GroupFit.Problem(1100, 1, [], null));
    }

    [Fact]
    public void A_socket_budget_too_small_to_take_part_is_refused()
    {
        string? why = GroupFit.Problem(10, 2, [], 1);
        Assert.NotNull(why);
        Assert.Contains("10 devices", why);
        Assert.Contains("1 peer connection", why);
        Assert.Contains("at least 2", why);
        Assert.Null(GroupFit.Problem(10, 2, [], 2));
    }

    [Fact]
    public async Task The_demo_refuses_before_it_starts_anything()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => DemoRunner.RunAsync(new DemoOptions { Devices = 40, Groups = 1, PeerConnections = 1 }, null, null, CancellationToken.None));
        Assert.Contains("peer connection", e.Message);
    }
}
