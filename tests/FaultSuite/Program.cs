using System.Diagnostics;
using System.Text.Json;
using IotOta.FaultSuite;

// dotnet run -c Release --project tests/FaultSuite -- device [--power-cuts N] [--fuzz N] [--forged N] [--seed S] [--json]
// dotnet run -c Release --project tests/FaultSuite -- fleet [--devices N] [--groups G] [--image-size B] [--scenario NAME]... [--json]
if (args.Length > 0 && args[0] == "fleet") return await IotOta.FaultSuite.Fleet.FleetCommand.RunAsync(args[1..]);
if (args.Length == 0 || args[0] != "device")
{
    Console.Error.WriteLine("usage: FaultSuite device [--power-cuts N] [--fuzz N] [--forged N] [--seed S] [--json]");
    Console.Error.WriteLine("       FaultSuite fleet [--devices N] [--groups G] [--image-size B] [--scenario NAME]... [--json]");
    return 2;
}
int powerCuts = 1000, seed = 1;
long fuzz = 1_000_000, forged = 1000;
bool json = false;
for (int i = 1; i < args.Length; i++)
{
    string a = args[i];
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException(a + " needs a value");
    switch (a)
    {
        case "--power-cuts": powerCuts = int.Parse(Next()); break;
        case "--fuzz": fuzz = long.Parse(Next()); break;
        case "--forged": forged = long.Parse(Next()); break;
        case "--seed": seed = int.Parse(Next()); break;
        case "--json": json = true; break;
        default:
            Console.Error.WriteLine("unknown option " + a);
            return 2;
    }
}

FaultReport report = DeviceFaultSuite.Run(powerCuts, forged, fuzz, seed, json ? null : Console.Out);
if (json)
{
    Console.WriteLine(JsonSerializer.Serialize(report.ToJson()));
}
else
{
    foreach (var kv in report.ToJson()) Console.WriteLine($"{kv.Key,-26} {(kv.Value is IEnumerable<string> l ? string.Join("; ", l) : kv.Value)}");
}
return report.Passed ? 0 : 1;

namespace IotOta.FaultSuite
{
    public sealed class FaultReport
    {
        public PowerCutScenario? Cuts;
        public ForgeryScenario? Forgery;
        public FuzzScenario? Fuzz;
        public double Seconds;
        public int Seed;

        public List<string> Problems =>
            (Cuts?.Problems ?? new()).Concat(Forgery?.Problems ?? new()).Concat(Fuzz?.Problems ?? new()).Take(20).ToList();

        public bool Passed =>
            (Cuts == null || (Cuts.Bricked == 0 && Cuts.CorruptBoots == 0 && Cuts.FinishedNew == Cuts.Devices && Cuts.Problems.Count == 0))
            && (Forgery == null || (Forgery.Rejected == Forgery.Injected && Forgery.Completed == Forgery.Rollouts && Forgery.RepairsAskedOfQuarantined == 0 && Forgery.Problems.Count == 0))
            && (Fuzz == null || Fuzz.Crashes == 0);

        public Dictionary<string, object> ToJson()
        {
            var d = new Dictionary<string, object>
            {
                ["seed"] = Seed,
                ["powerCuts"] = Cuts?.PowerCuts ?? 0,
                ["cutsSlotErase"] = Cuts?.CutsByCategory[0] ?? 0,
                ["cutsSlotWrite"] = Cuts?.CutsByCategory[1] ?? 0,
                ["cutsBitmap"] = Cuts?.CutsByCategory[2] ?? 0,
                ["cutsUpdateState"] = Cuts?.CutsByCategory[3] ?? 0,
                ["cutsBootRecord"] = Cuts?.CutsByCategory[4] ?? 0,
                ["devices"] = Cuts?.Devices ?? 0,
                ["deviceLifetimes"] = Cuts?.Lifetimes ?? 0,
                ["bricked"] = Cuts?.Bricked ?? 0,
                ["corruptBoots"] = Cuts?.CorruptBoots ?? 0,
                ["finishedNew"] = Cuts?.FinishedNew ?? 0,
                ["resumedWithPackets"] = Cuts?.Resumed ?? 0,
                ["restartedFromScratch"] = Cuts?.RestartedFromScratch ?? 0,
                ["packetsLostToCuts"] = Cuts?.PacketsLostToCuts ?? 0,
                ["resumeSectorsCleaned"] = Cuts?.ResumeSectorsCleaned ?? 0,
                ["resumeHeldInvalid"] = Cuts?.ResumeHeldInvalid ?? 0,
                ["forgedInjected"] = Forgery?.Injected ?? 0,
                ["forgedRejected"] = Forgery?.Rejected ?? 0,
                ["forgeryRollouts"] = Forgery?.Rollouts ?? 0,
                ["forgeryRolloutsCompleted"] = Forgery?.Completed ?? 0,
                ["maliciousPeerQuarantined"] = Forgery?.MalloryQuarantined ?? 0,
                ["repairsAskedOfQuarantined"] = Forgery?.RepairsAskedOfQuarantined ?? 0,
                ["quarantinedDrops"] = Forgery?.QuarantinedDrops ?? 0,
                ["stalePacketsCounted"] = Forgery?.StalePackets ?? 0,
                ["badChunkHashes"] = Forgery?.BadChunkHashes ?? 0,
                ["fuzzInputs"] = Fuzz?.Inputs ?? 0,
                ["fuzzCrashes"] = Fuzz?.Crashes ?? 0,
                ["fuzzDecoderRejections"] = Fuzz?.DecoderRejections ?? 0,
                ["fuzzAgentRejections"] = Fuzz?.AgentRejections ?? 0,
                ["fuzzMaxInputMs"] = Math.Round(Fuzz?.MaxInputMs ?? 0, 3),
                ["fuzzMaxInputAllocBytes"] = Fuzz?.MaxInputAllocBytes ?? 0,
                ["seconds"] = Math.Round(Seconds, 2),
                ["passed"] = Passed,
                ["problems"] = Problems,
            };
            return d;
        }
    }

    public static class DeviceFaultSuite
    {
        public static FaultReport Run(int powerCuts, long forged, long fuzz, int seed, TextWriter? progress = null)
        {
            var sw = Stopwatch.StartNew();
            var report = new FaultReport { Seed = seed };
            string dir = Scratch.NewDir();
            try
            {
                if (powerCuts > 0)
                {
                    progress?.WriteLine($"power cuts: {powerCuts} ...");
                    report.Cuts = new PowerCutScenario(seed, dir);
                    report.Cuts.Run(powerCuts);
                }
                if (forged > 0)
                {
                    progress?.WriteLine($"forged packets: {forged} ...");
                    report.Forgery = new ForgeryScenario(seed + 1, dir);
                    report.Forgery.Run(forged);
                }
                if (fuzz > 0)
                {
                    progress?.WriteLine($"fuzz inputs: {fuzz} ...");
                    report.Fuzz = new FuzzScenario(seed + 2, dir);
                    report.Fuzz.Run(fuzz);
                }
            }
            finally
            {
                try { Directory.Delete(dir, true); } catch (IOException) { }
            }
            report.Seconds = sw.Elapsed.TotalSeconds;
            return report;
        }
    }
}
