namespace IotOta.Gateway.Security;

/// <summary>What an MQTT account may do: the gateway sends, a device speaks for itself only, a monitor only reads.</summary>
public enum MqttRole
{
    Gateway,
    Device,
    Monitor,
}
