namespace IotOta.Gateway.Security;

/// <summary>
/// Who an MQTT account is: its username (which is also the only client id it may use), its role and, for a device,
/// its node id and group. Immutable and thread-safe.
/// </summary>
public sealed record MqttIdentity(string Username, MqttRole Role, uint NodeId = 0, int GroupId = 0)
{
    public const string DefaultGatewayUsername = "iotota-gateway";
    public const string DefaultMonitorUsername = "iotota-monitor";

    /// <summary>The username (and client id) of device <paramref name="nodeId"/>: "dev-{nodeId}".</summary>
    public static string DeviceUsername(uint nodeId) => "dev-" + nodeId;

    public static MqttIdentity Device(uint nodeId, int groupId)
    {
        if (nodeId == 0) throw new ArgumentOutOfRangeException(nameof(nodeId), "node id 0 is never a device");
        if (groupId < 0 || groupId > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(groupId), "a group id is a u16");
        return new MqttIdentity(DeviceUsername(nodeId), MqttRole.Device, nodeId, groupId);
    }

    public static MqttIdentity Gateway(string username = DefaultGatewayUsername) => new(CheckName(username), MqttRole.Gateway);

    public static MqttIdentity Monitor(string username = DefaultMonitorUsername) => new(CheckName(username), MqttRole.Monitor);

    /// <summary>A username must be usable as a Mosquitto user name and a client id: 1..64 printable ASCII characters
    /// without spaces, ':' (password file separator), '#', '+' or '/'.</summary>
    public static string CheckName(string username)
    {
        ArgumentNullException.ThrowIfNull(username);
        if (username.Length is 0 or > 64) throw new ArgumentException("an MQTT username must be 1 to 64 characters", nameof(username));
        foreach (char c in username)
        {
            if (c <= ' ' || c > '~' || c is ':' or '#' or '+' or '/')
                throw new ArgumentException($"an MQTT username may not contain '{c}' (printable ASCII without space : # + /)", nameof(username));
        }
        return username;
    }
}
