namespace IotOta.Gateway.Scheduling;

/// <summary>Who sends a requesting device the packets it misses: for each donor (a member of its group) the packets
/// that donor is asked to send it over the second network, and the packets only the gateway can send (no online member
/// holds them); and the packets no online member holds but a device of another group does (<see cref="Across"/>: that
/// device sends them to the requester, which copies them on inside its group).</summary>
public sealed record DonorPlan(IReadOnlyDictionary<uint, IReadOnlyList<int>> ByDonor, IReadOnlyList<int> FromGateway)
{
    private static readonly IReadOnlyDictionary<uint, IReadOnlyList<int>> None = new Dictionary<uint, IReadOnlyList<int>>();

    public static readonly DonorPlan Empty = new(None, Array.Empty<int>());

    /// <summary>Donors of other groups → the packets each is ordered to send the requester (cross-group donor orders).</summary>
    public IReadOnlyDictionary<uint, IReadOnlyList<int>> Across { get; init; } = None;

    /// <summary>Packets handed to donors, of the group and of other groups.</summary>
    public int DonatedCount => ByDonor.Values.Sum(l => l.Count) + Across.Values.Sum(l => l.Count);
}
