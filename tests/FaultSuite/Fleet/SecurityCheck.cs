namespace IotOta.FaultSuite.Fleet;

/// <summary>One attempt of a security scenario: what was tried, whether the broker refused it, and what was observed
/// (CONNACK/PUBACK/SUBACK reason, delivery).</summary>
internal sealed record SecurityCheck(string Attempt, bool Refused, string Observed)
{
    public override string ToString() => $"{Attempt}: {(Refused ? "refused" : "NOT REFUSED")} ({Observed})";
}
