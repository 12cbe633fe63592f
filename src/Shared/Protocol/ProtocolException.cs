using System;

namespace IotOta.Shared.Protocol
{
    /// <summary>The only exception a decoder throws: bad bytes, with a reason and a readable message.</summary>
    public class ProtocolException : Exception
    {
        public ProtocolException(ProtocolError error, string message) : base(message)
        {
            Error = error;
        }

        public ProtocolError Error { get; private set; }
    }
}
