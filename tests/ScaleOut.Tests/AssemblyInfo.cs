// Each test starts broker nodes, a gateway and a fleet: on 2 cores, one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
