namespace IotOta.Gateway.Mqtt;

/// <summary>A broker address as the commands take it (--broker HOST:PORT).</summary>
public static class BrokerAddress
{
    /// <summary>Splits HOST:PORT; throws ArgumentException naming the option when it is not one.</summary>
    public static (string Host, int Port) Parse(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out int port) || port < 1 || port > 65535)
            throw new ArgumentException($"--broker '{text}' is not HOST:PORT");
        return (text[..colon], port);
    }
}
