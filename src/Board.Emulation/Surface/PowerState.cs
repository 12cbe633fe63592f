namespace IotOta.Board.Emulation.Surface
{
    public static class PowerState
    {
        /// <summary>Exit code of a reboot (EX_TEMPFAIL): the harness starts the board again.</summary>
        public const int RebootExitCode = 75;
    }
}
