namespace IotOta.Gateway.Api;

/// <summary>Link rates in bytes/s, when the operator knows them (the demo fleet's emulated links); for the bound.</summary>
public sealed record LinkRates(double GatewayUp, IReadOnlyDictionary<uint, (double Up, double Down)> Devices);
