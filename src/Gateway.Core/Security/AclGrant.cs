namespace IotOta.Gateway.Security;

/// <summary>One permission: access to every topic the MQTT filter <paramref name="Filter"/> matches.</summary>
public sealed record AclGrant(AclAccess Access, string Filter);
