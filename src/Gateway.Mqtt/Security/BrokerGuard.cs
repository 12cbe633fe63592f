using IotOta.Gateway.Fleet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace IotOta.Gateway.Security;

/// <summary>
/// The embedded MQTTnet broker's door and ACL: a client connects only with a username and secret the
/// <see cref="CredentialRegistry"/> knows and with client id = username (so no one takes over another's session);
/// every publish and subscription is checked against <see cref="TopicAcl"/>. A refused QoS 1 publish gets PUBACK
/// "not authorized" (MQTT 5) and reaches no one; a refused subscription gets a failure code. Logs usernames and
/// topics, never secrets. Thread-safe.
/// </summary>
public sealed class BrokerGuard
{
    private readonly CredentialRegistry _registry;
    private readonly Action<string>? _log;
    private long _refusedConnects, _refusedPublishes, _refusedSubscriptions;

    public BrokerGuard(CredentialRegistry registry, Action<string>? log = null)
    {
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _log = log;
    }

    public long RefusedConnects => Interlocked.Read(ref _refusedConnects);
    public long RefusedPublishes => Interlocked.Read(ref _refusedPublishes);
    public long RefusedSubscriptions => Interlocked.Read(ref _refusedSubscriptions);

    public void Attach(MqttServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.ValidatingConnectionAsync += e =>
        {
            e.ReasonCode = CheckConnect(e.ClientId, e.UserName, e.Password);
            if (e.ReasonCode != MqttConnectReasonCode.Success)
            {
                Interlocked.Increment(ref _refusedConnects);
                _log?.Invoke($"broker: refused connect of client '{e.ClientId}' as user '{e.UserName}': {e.ReasonCode}");
            }
            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += e =>
        {
            // Messages the broker injects itself carry no client id.
            if (string.IsNullOrEmpty(e.ClientId)) return Task.CompletedTask;
            var who = _registry.Find(e.UserName);
            if (who == null || !TopicAcl.MayPublish(who, e.ApplicationMessage.Topic))
            {
                e.ProcessPublish = false;
                e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
                Interlocked.Increment(ref _refusedPublishes);
                _log?.Invoke($"broker: refused publish of '{e.UserName}' on {e.ApplicationMessage.Topic}");
            }
            return Task.CompletedTask;
        };
        server.InterceptingSubscriptionAsync += e =>
        {
            var who = _registry.Find(e.UserName);
            if (who == null || !TopicAcl.MaySubscribe(who, e.TopicFilter.Topic))
            {
                e.ProcessSubscription = false;
                e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
                Interlocked.Increment(ref _refusedSubscriptions);
                _log?.Invoke($"broker: refused subscription of '{e.UserName}' to {e.TopicFilter.Topic}");
            }
            return Task.CompletedTask;
        };
    }

    /// <summary>The CONNACK reason for a connect: Success only for a known username with its secret and client id =
    /// username.</summary>
    public MqttConnectReasonCode CheckConnect(string? clientId, string? username, string? secret)
    {
        if (_registry.Authenticate(username, secret) == null) return MqttConnectReasonCode.BadUserNameOrPassword;
        if (!string.Equals(clientId, username, StringComparison.Ordinal)) return MqttConnectReasonCode.ClientIdentifierNotValid;
        return MqttConnectReasonCode.Success;
    }
}
