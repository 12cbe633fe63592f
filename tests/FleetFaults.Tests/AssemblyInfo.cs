using Xunit;

// Every test here starts its own Mosquitto (and some a gateway process or PostgreSQL), strikes a fault at a point in
// the rollout and counts what the gateway sent again. Run one at a time: in parallel they load the 2-core machine
// so much that the strike points and the devices' reports drift, and the re-sent figures then measure the machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
