namespace IotOta.Shared.Protocol
{
    /// <summary>MQTT topic names of the first network. Payloads are protocol messages.</summary>
    public static class Topics
    {
        public const string Root = "iotota";
        /// <summary>Retained: the manifest of a fleet-wide rollout (devices follow their group's manifest topic).</summary>
        public const string Manifest = "iotota/rollout/manifest";
        /// <summary>Gateway subscribes to every device's outbound topic.</summary>
        public const string AllDeviceOut = "iotota/dev/+/out";
        public const string AllDeviceStatus = "iotota/dev/+/status";

        /// <summary>Gateway → one device: originals, gateway repair copies.</summary>
        public static string DeviceIn(uint nodeId) { return "iotota/dev/" + nodeId + "/in"; }
        /// <summary>Device → gateway: receipt notices, progress reports, repair requests.</summary>
        public static string DeviceOut(uint nodeId) { return "iotota/dev/" + nodeId + "/out"; }
        /// <summary>Retained presence (and last will) of a device.</summary>
        public static string DeviceStatus(uint nodeId) { return "iotota/dev/" + nodeId + "/status"; }
        /// <summary>Retained: the manifest of the rollout that targets this group (empty when it was aborted).</summary>
        public static string GroupManifest(int groupId) { return "iotota/grp/" + groupId + "/manifest"; }
        /// <summary>Retained member list of a group.</summary>
        public static string GroupMembers(int groupId) { return "iotota/grp/" + groupId + "/members"; }
        /// <summary>Retained relay-tree table of a group: which groups its relay copies go on to (RelayTree).</summary>
        public static string GroupTree(int groupId) { return "iotota/grp/" + groupId + "/tree"; }
        /// <summary>Protocol v2, retained: the signed ImageRoot of the rollout that targets this group.</summary>
        public static string GroupRoot(int groupId) { return "iotota/grp/" + groupId + "/root"; }

        /// <summary>Parses the node id out of "iotota/dev/{id}/..."; returns 0 when the topic is not of that form.</summary>
        public static uint NodeIdOf(string topic)
        {
            const string prefix = "iotota/dev/";
            if (topic == null || topic.Length <= prefix.Length || !topic.StartsWith(prefix)) return 0;
            uint n = 0;
            int i = prefix.Length;
            int digits = 0;
            while (i < topic.Length && topic[i] != '/')
            {
                char c = topic[i];
                if (c < '0' || c > '9' || digits >= 10) return 0;
                uint d = (uint)(c - '0');
                if (n > 429496729u || (n == 429496729u && d > 5u)) return 0; // would pass uint.MaxValue
                n = n * 10 + d;
                i++;
                digits++;
            }
            return digits == 0 ? 0 : n;
        }
    }
}
