using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class CopyTreeSplitTests
{
    [Fact]
    public void The_children_tile_the_covered_members_exactly_once_in_parts_that_differ_by_at_most_one()
    {
        for (int count = 2; count <= 40; count++)
            for (int span = 1; span <= count + 2; span++)
                for (int fanout = 1; fanout <= 6; fanout++)
                {
                    int covered = CopyTreeSplit.Covered(span, count);
                    Assert.Equal(Math.Min(span, count - 1), covered);
                    int parts = CopyTreeSplit.Parts(covered, fanout);
                    Assert.Equal(Math.Min(fanout, covered), parts);
                    int next = 1, shortest = int.MaxValue, longest = 0;
                    for (int j = 0; j < parts; j++)
                    {
                        Assert.Equal(next, CopyTreeSplit.ChildOffset(covered, parts, j)); // right after the previous part
                        int part = CopyTreeSplit.ChildSpan(covered, parts, j) + 1;
                        shortest = Math.Min(shortest, part);
                        longest = Math.Max(longest, part);
                        next += part;
                    }
                    Assert.Equal(covered + 1, next); // every covered member once, none beyond
                    Assert.True(longest - shortest <= 1);
                }
    }

    [Fact]
    public void A_root_of_eleven_with_fanout_two_splits_its_ten_in_halves()
    {
        Assert.Equal(2, CopyTreeSplit.Parts(10, 2));
        Assert.Equal((1, 4), (CopyTreeSplit.ChildOffset(10, 2, 0), CopyTreeSplit.ChildSpan(10, 2, 0)));
        Assert.Equal((6, 4), (CopyTreeSplit.ChildOffset(10, 2, 1), CopyTreeSplit.ChildSpan(10, 2, 1)));
        // 7 over 3 parts: 3, 2, 2
        Assert.Equal((1, 2), (CopyTreeSplit.ChildOffset(7, 3, 0), CopyTreeSplit.ChildSpan(7, 3, 0)));
        Assert.Equal((4, 1), (CopyTreeSplit.ChildOffset(7, 3, 1), CopyTreeSplit.ChildSpan(7, 3, 1)));
        Assert.Equal((6, 1), (CopyTreeSplit.ChildOffset(7, 3, 2), CopyTreeSplit.ChildSpan(7, 3, 2)));
    }
}
