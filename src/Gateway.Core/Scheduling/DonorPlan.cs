namespace IotOta.Gateway.Scheduling;

/// <summary>Who sends a requesting device the packets it misses: for each donor (a member of its group) the packets
/// that donor is asked to send it over the second network, and the packets only the gateway can send (no online member
/// holds them).</summary>
public sealed record DonorPlan(IReadOnlyDictionary<uint, IReadOnlyList<int>> ByDonor, IReadOnlyList<int> FromGateway)
{
    public static readonly DonorPlan Empty = new(new Dictionary<uint, IReadOnlyList<int>>(), Array.Empty<int>());

    /// <summary>Packets handed to donors.</summary>
    public int DonatedCount => ByDonor.Values.Sum(l => l.Count);
}
