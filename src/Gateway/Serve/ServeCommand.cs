using System.CommandLine;

namespace IotOta.Gateway.Serve;

/// <summary>`serve`: the gateway with its REST API and web console until Ctrl+C; started from src/Simulation (with a
/// simulation) also a virtual demo fleet (--devices, default 30) on emulated links.</summary>
public static class ServeCommand
{
    public static Command Create(Func<IServeSimulation>? simulation)
    {
        var urls = new Option<string>("--urls") { Description = "where the API and console listen", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        int defaultDevices = simulation != null ? 30 : 0;
        var devices = new Option<int>("--devices") { Description = "virtual devices to start (0 = none; needs src/Simulation)", DefaultValueFactory = _ => defaultDevices };
        var groups = new Option<int>("--groups") { Description = "groups of the virtual fleet", DefaultValueFactory = _ => 3 };
        var broker = new Option<string?>("--broker") { Description = "HOST:PORT[,HOST:PORT…] of an MQTT broker or cluster (default: IotOta:Mqtt:Endpoints, else an embedded one); credentials and TLS: IotOta:Mqtt" };
        var brokerPort = new Option<int>("--broker-port") { Description = "port of the embedded broker (0 = a free one)" };
        var brokerBind = new Option<string[]>("--broker-bind") { Description = "address(es) the embedded broker listens on, one IPv4 and/or one IPv6 (default: 127.0.0.1 and ::1 only)", AllowMultipleArgumentsPerToken = true };
        var user = new Option<string?>("--user") { Description = "operator user (default: configuration IotOta:Admin:User, else admin)" };
        var key = new Option<string?>("--key") { Description = "signing key (PEM, from `keygen`); default: a key generated for this run" };
        var chunk = new Option<int>("--chunk-size") { Description = "minimum-unit packet size", DefaultValueFactory = _ => 4096 };
        var maxImage = new Option<long>("--max-image-bytes") { Description = "largest image the API accepts", DefaultValueFactory = _ => 4 * 1024 * 1024 };
        var gwUp = new Option<double>("--gateway-up-kbps") { Description = "emulated gateway upload rate (0 = unlimited)" };
        var devUp = new Option<double>("--device-up-kbps") { Description = "emulated device upload rate (0 = unlimited)" };
        var devDown = new Option<double>("--device-down-kbps") { Description = "emulated device download rate (0 = unlimited)" };
        var database = new Option<string?>("--database") { Description = "SQLite file for images, devices, rollouts and progress (default: IotOta:Storage:SqlitePath in appsettings.json)" };
        var storage = new Option<string?>("--storage") { Description = "sqlite, postgres (ConnectionStrings:IotOta from configuration) or memory (default: IotOta:Storage:Provider)" };
        var cmd = new Command("serve", simulation != null ? "Run the gateway with its REST API and web console and a virtual demo fleet until Ctrl+C"
                : "Run the gateway with its REST API and web console until Ctrl+C (a virtual demo fleet: src/Simulation serve)")
            { urls, devices, groups, broker, brokerPort, brokerBind, user, key, chunk, maxImage, gwUp, devUp, devDown, database, storage };
        cmd.SetAction(async (parse, ct) =>
        {
            if (!TryParseBind(parse.GetValue(brokerBind), out var bind, out string? bindError))
            {
                System.Console.Error.WriteLine($"error: {bindError}");
                return 2;
            }
            var o = new ServeOptions
            {
                BrokerBind = bind,
                Urls = parse.GetValue(urls)!,
                Devices = parse.GetValue(devices),
                Groups = parse.GetValue(groups),
                Broker = parse.GetValue(broker),
                BrokerPort = parse.GetValue(brokerPort),
                User = parse.GetValue(user),
                // The password comes from configuration (IotOta__Admin__Password) or is generated: not from the command
                // line, where it would sit in the shell history and the process list.
                KeyPath = parse.GetValue(key),
                ChunkSize = parse.GetValue(chunk),
                MaxImageBytes = parse.GetValue(maxImage),
                GatewayUpKbps = parse.GetValue(gwUp),
                DeviceUpKbps = parse.GetValue(devUp),
                DeviceDownKbps = parse.GetValue(devDown),
                ExtraArgs = StorageArgs(parse.GetValue(database), parse.GetValue(storage)),
                Simulation = simulation?.Invoke(),
            };
            try
            {
                o.Validate();
            }
            catch (ArgumentException e)
            {
                System.Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            GatewayServer server;
            Persistence.GatewayLease? lease = null;
            try
            {
                // On a shared PostgreSQL store: wait (as a standby) until this instance holds the lease.
                lease = await ServeLease.AcquireAsync(o, System.Console.WriteLine, ct);
                o = o with { Lease = lease };
                System.Console.WriteLine(o.Devices > 0 ? $"starting the broker, the gateway and {o.Devices} virtual devices in {o.Groups} groups..." : "starting the gateway...");
                server = await GatewayServer.StartAsync(o, m => System.Console.Error.WriteLine(m), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                if (lease != null) await lease.DisposeAsync();
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or TimeoutException or InvalidOperationException or MQTTnet.Exceptions.MqttCommunicationException
                                           or System.Data.Common.DbException or ArgumentException)
            {
                if (lease != null) await lease.DisposeAsync();
                System.Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            await using var heldLease = lease; // released after the server stopped writing: then a standby takes over
            await using (server)
            {
                System.Console.WriteLine($"console:  {server.Url}/");
                System.Console.WriteLine($"api:      {server.Url}/api   (OpenAPI: {server.Url}/openapi/v1.json)");
                System.Console.WriteLine($"broker:   {server.BrokerAddress}");
                System.Console.WriteLine($"state:    {server.Storage}");
                System.Console.WriteLine($"user:     {server.Credentials.User}");
                // Shown once on the operator's terminal (never through the logger): the demo's way in.
                System.Console.WriteLine(server.PasswordGenerated
                    ? $"password: {server.Credentials.Password}   (generated for this run; set IotOta__Admin__Password to choose one)"
                    : "password: (from configuration)");
                System.Console.WriteLine($"cli:      iotota --server {server.Url} --user {server.Credentials.User} --password ... devices");
                System.Console.WriteLine("Ctrl+C stops.");
                try
                {
                    // Ctrl+C and SIGTERM reach the web host's console lifetime, which stops the host; wait for either.
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, server.Stopping, lease?.Lost ?? CancellationToken.None);
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException) { }
                if (lease is { Lost.IsCancellationRequested: true }) System.Console.Error.WriteLine("error: lost the gateway lease (PostgreSQL connection); stopping, a standby takes over");
                System.Console.WriteLine("stopping...");
            }
            return lease is { Lost.IsCancellationRequested: true } ? 3 : 0;
        });
        return cmd;
    }

    /// <summary>--broker-bind values as addresses (null when none was given).</summary>
    public static bool TryParseBind(string[]? values, out System.Net.IPAddress[]? bind, out string? error)
    {
        bind = null;
        error = null;
        if (values is not { Length: > 0 }) return true;
        var list = new List<System.Net.IPAddress>();
        foreach (string v in values)
        {
            if (!System.Net.IPAddress.TryParse(v.Trim('[', ']'), out var a))
            {
                error = $"--broker-bind '{v}' is not an IP address";
                return false;
            }
            list.Add(a);
        }
        bind = list.ToArray();
        return true;
    }

    /// <summary>--database and --storage as configuration on the command line (they win over appsettings.json and the
    /// environment); --database alone means SQLite.</summary>
    public static string[] StorageArgs(string? database, string? storage)
    {
        var args = new List<string>();
        if (database != null) args.AddRange(["--IotOta:Storage:SqlitePath", database]);
        if (storage != null) args.AddRange(["--IotOta:Storage:Provider", storage]);
        else if (database != null) args.AddRange(["--IotOta:Storage:Provider", Persistence.StorageOptions.Sqlite]);
        return args.ToArray();
    }
}
