using System.Globalization;
using IotOta.DeviceHeap;
using IotOta.BoardProfiles;

// Device core heap per board, packet size, image size and phase (issue #17). Usage:
//   dotnet run -c Release --project bench/DeviceHeap [--board NAME[,NAME]] [--packets 2048,4096] [--sizes KiB,KiB] [--out FILE] [--detail]
// Images: 64 KiB, doubling, up to the board's slot size (the slot size itself last).
string? boardArg = Arg("--board");
int[] packetSizes = (Arg("--packets") ?? "2048,4096").Split(',').Select(int.Parse).ToArray();
int[]? sizesKiB = Arg("--sizes")?.Split(',').Select(int.Parse).ToArray();
string? outFile = Arg("--out");
HeapRun.Detail = args.Contains("--detail");
if (args.Contains("--parts"))
{
    PartSizes.Print(64, 16, 2048);
    return 0;
}
if (args.Contains("--agent-parts"))
{
    string pd = Path.Combine(Path.GetTempPath(), "iotota-parts-" + Guid.NewGuid().ToString("N")[..8]);
    Directory.CreateDirectory(pd);
    try { AgentParts.Print(BoardProfile.Named(boardArg ?? "esp32-devkitc"), packetSizes[0], pd); }
    finally { Directory.Delete(pd, true); }
    return 0;
}
IEnumerable<BoardProfile> boards = boardArg == null ? BoardProfile.All() : boardArg.Split(',').Select(n => BoardProfile.Named(n));

string dir = Path.Combine(Path.GetTempPath(), "iotota-deviceheap-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(dir);
var lines = new List<string>
{
    "| board | packet B | image KiB | packets | receive retained | receive peak | install peak | boot retained | boot peak | budget | worst % | B/packet | ok | serving: next manifest peak | restart mid-download peak |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
};
Console.WriteLine(lines[0]);
Console.WriteLine(lines[1]);
bool allOk = true;
try
{
    // warm-up, not reported: the first core built in the process also pays for one-time type initialisation
    HeapRun.Run(boards.First(), packetSizes[0], 64 * 1024, dir);
    foreach (BoardProfile b in boards)
    {
        IEnumerable<int> sizes = sizesKiB?.Select(k => k * 1024).Where(s => s <= b.SlotSize) ?? Sizes(b.SlotSize);
        foreach (int packet in packetSizes)
        {
            foreach (int size in sizes)
            {
                HeapResult r = HeapRun.Run(b, packet, size, dir);
                long worst = Math.Max(r.Receive.Peak, Math.Max(r.Install.Peak, r.Boot.Peak));
                bool ok = r.Installed && worst <= r.Budget;
                allOk &= ok;
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Board} | {r.PacketSize} | {r.ImageSize / 1024} | {r.Packets} | {r.Receive.Retained} | {r.Receive.Peak} | {r.Install.Peak} | {r.Boot.Retained} | {r.Boot.Peak} | {r.Budget} | {100.0 * worst / r.Budget:F0} | {r.BytesPerPacket:F1} | {(ok ? "yes" : "NO" + (r.Error == null ? "" : ": " + r.Error))} | {r.NextManifestPeak} ({100.0 * r.NextManifestPeak / r.Budget:F0} %) | {r.ResumePeak} ({100.0 * r.ResumePeak / r.Budget:F0} %) |");
                Console.WriteLine(line);
                lines.Add(line);
            }
        }
    }
}
finally
{
    try { Directory.Delete(dir, true); } catch (IOException) { }
}
Console.WriteLine();
Console.WriteLine("Bytes: .NET allocations of the device core (GC.GetAllocatedBytesForCurrentThread around each call, adapters subtracted).");
Console.WriteLine("peak = the highest retained-before + one call's bytes in the phase (the signature check's scratch counted at the moment of the check);");
Console.WriteLine("serving: next manifest peak = after the boot phase, the next image's manifest arrives at the serving device (its signature checked with the send buffer held); not part of 'ok'.");
Console.WriteLine("restart mid-download peak = a new core started on flash that holds half of the next image (stored manifest re-checked, held packets hashed again as they are read back, 256 B at a time, through a buffer that exists only during Start); not part of 'ok'.");
Console.WriteLine("B/packet = steady receiving (packet, forwarding, ticks) per packet; install peak = receive retained + the install call.");
if (outFile != null) File.WriteAllLines(outFile, lines);
return allOk ? 0 : 1;

static IEnumerable<int> Sizes(int slot)
{
    for (int s = 64 * 1024; s < slot; s *= 2) yield return s;
    yield return slot;
}

string? Arg(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
