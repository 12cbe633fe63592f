namespace IotOta.Gateway.Fleet;

/// <summary>A device the gateway can address: its node id, group and the socket address its peers use.</summary>
public sealed record FleetMember(uint NodeId, int GroupId, uint Ip, int Port);
