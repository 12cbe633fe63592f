namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// The copy tree's split rule (docs/protocol.md "Copy trees inside a group"), one source for the device that
    /// follows it (DeviceFirmware's <c>CopyPlanner.TreeCopies</c>) and the gateway that predicts it (Gateway.Core's
    /// <c>CopyTreeShape</c>), as <see cref="RelayTree.CandidateIndex"/> is for the relay trees: a member that must get a
    /// chunk to the next span members after it in a list of count (ring order) covers at most count − 1 of them and
    /// splits them into min(fan-out, covered) consecutive parts, the first covered mod parts one longer; the first
    /// member of each part is a child and covers the rest of its part. Pure arithmetic: no allocation.
    /// </summary>
    public static class CopyTreeSplit
    {
        /// <summary>How many members after it a member with <paramref name="span"/> really covers (at most count − 1).</summary>
        public static int Covered(int span, int count)
        {
            int limit = count - 1;
            return span < limit ? span : limit;
        }

        /// <summary>How many children a member covering <paramref name="covered"/> members has with the fan-out.</summary>
        public static int Parts(int covered, int fanout)
        {
            return fanout < covered ? fanout : covered;
        }

        /// <summary>Child <paramref name="j"/> (0 ≤ j &lt; parts): how many places after its parent it sits.</summary>
        public static int ChildOffset(int covered, int parts, int j)
        {
            int extra = covered % parts;
            return 1 + j * (covered / parts) + (j < extra ? j : extra);
        }

        /// <summary>Child <paramref name="j"/>: the span it covers in turn (its part less itself).</summary>
        public static int ChildSpan(int covered, int parts, int j)
        {
            return covered / parts + (j < covered % parts ? 1 : 0) - 1;
        }
    }
}
