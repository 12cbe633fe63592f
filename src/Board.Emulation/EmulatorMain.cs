using System;

namespace IotOta.Board.Emulation
{
    /// <summary>One emulated board per process: args[0] is the folder that plays the board's I:\ drive (with
    /// iotota.cfg in it). Power.RebootDevice ends the process with <see cref="Surface.PowerState.RebootExitCode"/>.</summary>
    public static class EmulatorMain
    {
        public static int Main(string[] args)
        {
            if (args.Length != 1)
            {
                Console.Error.WriteLine("usage: IotOta.Board.Emulation <folder playing the I:\\ drive, ending in />");
                return 2;
            }
            string root = args[0].EndsWith('/') ? args[0] : args[0] + "/";
            try
            {
                Program.Run(root);
                return 0;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("board program crashed: " + e);
                return 1;
            }
        }
    }
}
