using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Security;

/// <summary>
/// Who may publish and subscribe where on the first network — the one rule set behind both the Mosquitto acl_file
/// (<see cref="MosquittoSecurityFiles"/>) and the embedded broker's checks (<see cref="BrokerGuard"/>). Pure and
/// thread-safe.
/// <list type="bullet">
/// <item>A device publishes only its own out and status topics, and reads only its own in topic and its group's
/// manifest, member list and relay-tree table.</item>
/// <item>The gateway publishes originals (every device's in topic), manifests, member lists and relay-tree tables,
/// and reads every
/// device's out and status topics.</item>
/// <item>A monitor reads everything under <c>iotota/</c> and publishes nothing.</item>
/// </list>
/// </summary>
public static class TopicAcl
{
    public static IReadOnlyList<AclGrant> Grants(MqttIdentity who)
    {
        ArgumentNullException.ThrowIfNull(who);
        return who.Role switch
        {
            MqttRole.Device =>
            [
                new(AclAccess.Write, Topics.DeviceOut(who.NodeId)),
                new(AclAccess.Write, Topics.DeviceStatus(who.NodeId)),
                new(AclAccess.Read, Topics.DeviceIn(who.NodeId)),
                new(AclAccess.Read, Topics.GroupManifest(who.GroupId)),
                new(AclAccess.Read, Topics.GroupMembers(who.GroupId)),
                new(AclAccess.Read, Topics.GroupTree(who.GroupId)),
            ],
            MqttRole.Gateway =>
            [
                new(AclAccess.Write, "iotota/dev/+/in"),
                new(AclAccess.Write, "iotota/grp/+/manifest"),
                new(AclAccess.Write, "iotota/grp/+/members"),
                new(AclAccess.Write, "iotota/grp/+/tree"),
                new(AclAccess.Write, Topics.Manifest),
                new(AclAccess.Read, Topics.AllDeviceOut),
                new(AclAccess.Read, Topics.AllDeviceStatus),
            ],
            MqttRole.Monitor => [new(AclAccess.Read, Topics.Root + "/#")],
            _ => [],
        };
    }

    /// <summary>Whether <paramref name="who"/> may publish on <paramref name="topic"/> (a topic name, no wildcards).</summary>
    public static bool MayPublish(MqttIdentity who, string topic)
    {
        if (string.IsNullOrEmpty(topic) || topic.Contains('+') || topic.Contains('#')) return false;
        return Allows(who, AclAccess.Write, topic);
    }

    /// <summary>Whether <paramref name="who"/> may subscribe to <paramref name="filter"/>: every topic the filter can
    /// match must be readable (a wildcard in the filter is covered only by the same wildcard in a grant).</summary>
    public static bool MaySubscribe(MqttIdentity who, string filter)
    {
        if (string.IsNullOrEmpty(filter)) return false;
        return Allows(who, AclAccess.Read, filter);
    }

    private static bool Allows(MqttIdentity who, AclAccess access, string topicOrFilter)
    {
        foreach (AclGrant g in Grants(who))
        {
            if (g.Access == access && Covers(g.Filter, topicOrFilter)) return true;
        }
        return false;
    }

    /// <summary>
    /// Whether grant filter <paramref name="grant"/> covers <paramref name="requested"/> (a topic, or a subscription
    /// filter whose '+' and '#' levels are covered only by '+' or '#' in the grant). MQTT rules: '+' is one level,
    /// '#' (last level) is that level and everything below it, including the parent itself.
    /// </summary>
    public static bool Covers(string grant, string requested)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(requested);
        string[] g = grant.Split('/');
        string[] r = requested.Split('/');
        for (int i = 0; i < g.Length; i++)
        {
            if (g[i] == "#") return i == g.Length - 1;
            if (i >= r.Length) return false;
            if (r[i] == "#") return false; // the request reaches below what a non-# grant level allows
            if (g[i] == "+") continue;
            if (g[i] != r[i]) return false;
        }
        return r.Length == g.Length;
    }
}
