namespace IotOta.Gateway.Node;

/// <summary>MQTT delivery guarantee of a publish: originals and repair copies go at most once (a lost one is planned
/// again when its deadline passes); manifests, tables and member lists at least once.</summary>
public enum BrokerQos
{
    AtMostOnce,
    AtLeastOnce,
}
