namespace IotOta.Gateway.Mqtt;

/// <summary>One broker address (a node of a cluster, or the only broker). Immutable.</summary>
public sealed record MqttEndpoint(string Host, int Port)
{
    /// <summary>Parses "HOST:PORT" (an IPv6 host in brackets: "[::1]:1883"); throws <see cref="ArgumentException"/>
    /// naming the text when it is not of that form.</summary>
    public static MqttEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        int colon = t.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(t[(colon + 1)..], out int port) || port < 1 || port > 65535)
            throw new ArgumentException($"broker endpoint '{text}' is not HOST:PORT");
        string host = t[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        return new MqttEndpoint(host, port);
    }

    /// <summary>Parses a comma-separated list of "HOST:PORT" (at least one).</summary>
    public static IReadOnlyList<MqttEndpoint> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToList();
        if (list.Count == 0) throw new ArgumentException("no broker endpoint given (HOST:PORT[,HOST:PORT…])");
        return list;
    }

    /// <summary>The list rotated so that it starts at index <paramref name="first"/> (mod its length): the order in which
    /// a client tries the endpoints; spreading clients over a cluster gives each a different first node.</summary>
    public static IReadOnlyList<MqttEndpoint> Rotate(IReadOnlyList<MqttEndpoint> endpoints, int first)
    {
        if (endpoints.Count == 0) return endpoints;
        int k = ((first % endpoints.Count) + endpoints.Count) % endpoints.Count;
        return endpoints.Skip(k).Concat(endpoints.Take(k)).ToList();
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
