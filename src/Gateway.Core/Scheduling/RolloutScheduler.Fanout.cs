namespace IotOta.Gateway.Scheduling;

/// <summary>
/// The copies a group's root sends itself. With copy trees inside groups (docs/protocol.md "Copy trees inside a
/// group") the device that receives a minimum unit copies it to at most <see cref="SchedulerOptions.GroupFanout"/>
/// members, which pass it on; its receipt notice comes when those copies (and its relay copies) are out. So a root
/// job is booked as that many copies, not one per member: the rest of the group's copies are spread over the members.
/// The work still to do (<see cref="RemainingSeconds"/>) keeps counting one copy per member.
/// </summary>
public sealed partial class RolloutScheduler
{
    private readonly NoticeTimer _noticeTimer = new();

    /// <summary>How late notices come, smoothed (deadlines follow it).</summary>
    public NoticeTimer NoticeTimer => _noticeTimer;

    private int RootCopies(GroupPlan g)
    {
        int others = Math.Max(0, g.Members.Count - 1);
        return _options.GroupFanout > 0 ? Math.Min(_options.GroupFanout, others) : others;
    }
}
