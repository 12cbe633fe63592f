namespace IotOta.Gateway.Fleet;

/// <summary>An MQTT username and its secret, as handed out once at provisioning. ToString never shows the secret.</summary>
public sealed record MqttCredential(string Username, string Secret)
{
    public override string ToString() => $"MqttCredential {{ Username = {Username}, Secret = *** }}";
}
