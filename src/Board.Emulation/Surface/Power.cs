using System;

namespace nanoFramework.Runtime.Native
{
    /// <summary>Emulates nanoFramework.Runtime.Native 1.7.11 Power.RebootDevice: the process ends at once (no
    /// clean MQTT disconnect, so the broker publishes the will, as on a board) and its harness starts it again.</summary>
    public static class Power
    {
        public static void RebootDevice()
        {
            Console.WriteLine("[emulation] reboot");
            Console.Out.Flush();
            Environment.Exit(IotOta.Board.Emulation.Surface.PowerState.RebootExitCode);
        }
    }
}
