using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// The copy tree inside a group as the devices build it (DeviceFirmware's <c>CopyPlanner.TreeCopies</c>, with the same
/// split rule: <see cref="CopyTreeSplit"/>): the minimum unit at ring position r of the member list (node-id order)
/// covers the other n − 1 members; a device that must reach the next <c>span</c> members splits them into up to
/// fan-out consecutive parts and copies to the first of each, which covers the rest of its part. The shape relative
/// to the root is the same for every root, so it is kept as offsets: <see cref="Forwarders"/> are the members other
/// than the root that pass copies on, each with its offset from the root (ring order) and how many copies it sends. With fan-out 2 about half the members forward each packet
/// and the other half forward nothing, so which members do depends on where the root sits.
/// </summary>
public sealed class CopyTreeShape
{
    private readonly int[] _offset;
    private readonly int[] _copies;

    private CopyTreeShape(List<(int Offset, int Copies)> forwarders)
    {
        _offset = forwarders.Select(f => f.Offset).ToArray();
        _copies = forwarders.Select(f => f.Copies).ToArray();
    }

    /// <summary>How many members besides the root pass copies on.</summary>
    public int Count => _offset.Length;

    /// <summary>Forwarder i: its ring offset from the root (1 .. n − 1) and the copies it sends.</summary>
    public (int Offset, int Copies) Forwarders(int i) => (_offset[i], _copies[i]);

    /// <summary>The shape for a group of <paramref name="members"/> with copy-tree fan-out <paramref name="fanout"/>
    /// (0 = full mesh: the root copies to everyone, nobody else forwards).</summary>
    public static CopyTreeShape For(int members, int fanout)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(members);
        ArgumentOutOfRangeException.ThrowIfNegative(fanout);
        var forwarders = new List<(int, int)>();
        if (fanout > 0 && members > 2)
        {
            // Each entry: (offset from the root, span it must cover). The root's own copies are its job, not listed.
            var stack = new Stack<(int Offset, int Span)>();
            foreach (var child in Children(0, members - 1, members, fanout)) stack.Push(child);
            while (stack.Count > 0)
            {
                var (offset, span) = stack.Pop();
                if (span <= 0) continue;
                var children = Children(offset, span, members, fanout);
                forwarders.Add((offset, children.Count));
                foreach (var child in children) stack.Push(child);
            }
            forwarders.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        }
        return new CopyTreeShape(forwarders);
    }

    /// <summary>The children of the member at <paramref name="offset"/> that must reach the next
    /// <paramref name="span"/> members, split as the devices split them (<see cref="CopyTreeSplit"/>): (offset, the
    /// span each child covers).</summary>
    private static List<(int Offset, int Span)> Children(int offset, int span, int n, int fanout)
    {
        var result = new List<(int, int)>();
        int s = CopyTreeSplit.Covered(span, n);
        int parts = CopyTreeSplit.Parts(s, fanout);
        for (int j = 0; j < parts; j++) result.Add((offset + CopyTreeSplit.ChildOffset(s, parts, j), CopyTreeSplit.ChildSpan(s, parts, j)));
        return result;
    }
}
