using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>Publish packet <see cref="Index"/> as an original to <see cref="Root"/>, naming <see cref="Relays"/>
/// (one device in each of some other groups) as its cross-group copy destinations.</summary>
public sealed record SendOrder(int Index, FleetMember Root, IReadOnlyList<FleetMember> Relays);
