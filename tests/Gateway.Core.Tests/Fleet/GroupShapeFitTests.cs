using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Fleet;

public class GroupShapeFitTests
{
    private static DeviceRecord D(uint node, int group, int? maxMembers, int? peers) =>
        new(node, group, 0x0100007F, 5000, true, new FirmwareVersion(1, 0, 0), DeviceState.Idle, DateTimeOffset.UnixEpoch, 0, 0, 0,
            new DeviceCapabilities(786432, 2048, true, 64, maxMembers, peers));

    private static IEnumerable<DeviceRecord> Group(int group, int size, uint first, int? maxMembers, int? peers) =>
        Enumerable.Range(0, size).Select(i => D(first + (uint)i, group, maxMembers, peers));

    [Fact]
    public void Groups_within_every_members_list_and_budget_pass()
    {
        Assert.Null(GroupShapeFit.Problem([.. Group(1, 64, 1, 64, 6), .. Group(2, 10, 100, 64, 2)]));
    }

    [Fact]
    public void A_group_larger_than_a_members_list_can_name_is_refused_naming_the_devices_and_the_limit()
    {
        // group 1: 70 members; 65 of them are boards that can name 64, 5 can name 1,024; group 2 fits
        var fleet = Group(1, 65, 1, 64, 6).Concat(Group(1, 5, 66, 1024, 6)).Concat(Group(2, 10, 200, 64, 6)).ToList();
        string? why = GroupShapeFit.Problem(fleet);
        Assert.Equal("group 1 has 70 members but 65 devices (1, 2, 3, 4, 5, 6, 7, 8 and 57 more) can name at most 64 members in a member list: split the group", why);
    }

    [Fact]
    public void A_socket_budget_below_two_is_refused_and_0_means_no_limit()
    {
        string? why = GroupShapeFit.Problem([D(1, 1, 64, 6), D(2, 1, 64, 1), D(3, 1, 64, 0)]);
        Assert.Equal("device 2 may hold 1 peer connection(s); taking part needs at least 2 (one in from its parent, one out to a child)", why);
    }

    private static DeviceRecord Old(int i, int group = 1, bool online = true) => new((uint)i, group, 0, 0, online, new FirmwareVersion(1, 0, 0), DeviceState.Idle,
        DateTimeOffset.UnixEpoch, 0, 0, 0, i % 2 == 0 ? null : new DeviceCapabilities(786432, 2048, true, 64));

    [Fact]
    public void Devices_that_announced_no_budget_are_judged_only_by_what_a_member_list_carries()
    {
        Assert.Null(GroupShapeFit.Problem(Enumerable.Range(1, 1024).Select(i => Old(i))));
        Assert.Equal("group 1 has 1025 members but a member list names at most 1024 members in a member list: split the group",
            GroupShapeFit.Problem(Enumerable.Range(1, 1025).Select(i => Old(i))));
    }

    [Fact]
    public void An_announced_list_larger_than_the_wire_carries_counts_as_the_wires_limit()
    {
        string? why = GroupShapeFit.Problem(Group(2, 1100, 1, 4096, 6));
        Assert.Equal("group 2 has 1100 members but 1100 devices (1, 2, 3, 4, 5, 6, 7, 8 and 1092 more) can name at most 1024 members in a member list: split the group", why);
    }

    [Fact]
    public void Offline_devices_neither_count_toward_a_group_nor_are_judged()
    {
        // the member list names online devices only: 3 of 5 online fit a list of 3; an offline device that may hold 1 is not refused
        var fleet = Group(1, 3, 1, 3, 6).Concat(Group(1, 2, 10, 3, 1).Select(d => d with { Online = false }));
        Assert.Null(GroupShapeFit.Problem(fleet));
    }

    [Fact]
    public void Each_group_too_large_is_named_apart_up_to_three()
    {
        var fleet = Enumerable.Range(1, 5).SelectMany(g => Group(g, 3 + g, (uint)(100 * g), 3, 6)).ToList();
        string? why = GroupShapeFit.Problem(fleet);
        Assert.NotNull(why);
        Assert.StartsWith("group 1 has 4 members but 4 devices (100, 101, 102, 103) can name at most 3 members in a member list: split the group; " +
            "group 2 has 5 members but 5 devices (200, 201, 202, 203, 204) can name at most 3", why);
        Assert.Contains("group 3 has 6 members", why);
        Assert.EndsWith("and 2 more groups are too large", why);
        Assert.DoesNotContain("group 4", why);
    }

    [Fact]
    public void Both_problems_are_named_in_one_sentence()
    {
        string? why = GroupShapeFit.Problem([.. Group(3, 3, 1, 2, 6), D(9, 4, 64, 1)]);
        Assert.NotNull(why);
        Assert.StartsWith("group 3 has 3 members but 3 devices (1, 2, 3) can name at most 2 members", why);
        Assert.EndsWith("device 9 may hold 1 peer connection(s); taking part needs at least 2 (one in from its parent, one out to a child)", why);
    }
}
