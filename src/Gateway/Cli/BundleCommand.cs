using System.CommandLine;
using IotOta.Gateway.Images;

namespace IotOta.Gateway.Cli;

/// <summary>`bundle`: packs a board application's .pe files into the application bundle a board loads
/// (<see cref="AppBundlePacker"/>); roll the file out with `rollout --image`.</summary>
public static class BundleCommand
{
    public static Command Create()
    {
        var entry = new Option<string>("--entry") { Description = "the type whose public static Start() the board calls (e.g. MyApp.Entry)", Required = true };
        var output = new Option<string>("--out") { Description = "bundle file to write", Required = true };
        var files = new Argument<string[]>("pe-files") { Description = ".pe files in load order (dependencies first)", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("bundle", "Pack .pe files into an application bundle for boards running the IotOta board program") { entry, output, files };
        cmd.SetAction(parse =>
        {
            string[] pe = parse.GetValue(files)!;
            foreach (string f in pe)
            {
                if (!File.Exists(f))
                {
                    Console.Error.WriteLine($"error: {f} does not exist");
                    return 2;
                }
            }
            byte[] bundle;
            try
            {
                bundle = AppBundlePacker.PackFiles(parse.GetValue(entry)!, pe);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 2;
            }
            File.WriteAllBytes(parse.GetValue(output)!, bundle);
            Console.WriteLine($"{parse.GetValue(output)}: {bundle.Length} bytes, {pe.Length} assemblies, entry {parse.GetValue(entry)}");
            return 0;
        });
        return cmd;
    }
}
