using FsCheck;
using FsCheck.Xunit;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

/// <summary>
/// Whatever bytes arrive, every decoder either accepts them or throws ProtocolException: never another exception
/// (an IndexOutOfRange or overflow on a device would be a crash, not a rejected message).
/// </summary>
public class DecoderFuzzProperties
{
    private const int Runs = 2000;

    private static void DecodeAll(byte[] b, int offset, int count)
    {
        foreach (var d in Samples.Decoders)
        {
            try
            {
                d.Decode(b, offset, count);
            }
            catch (ProtocolException ex)
            {
                if (ex.Error == ProtocolError.None || !Enum.IsDefined(ex.Error))
                {
                    throw new Xunit.Sdk.XunitException(d.Name + " threw ProtocolException without a reason");
                }
            }
        }
    }

    [Property(MaxTest = Runs)]
    public void Random_bytes(byte[] data)
    {
        DecodeAll(data ?? Array.Empty<byte>(), 0, data?.Length ?? 0);
    }

    [Property(MaxTest = Runs)]
    public void Random_bytes_behind_a_valid_header(byte type, byte[] body)
    {
        body ??= Array.Empty<byte>();
        var t = (MessageType)(type % 14);
        var b = Samples.Concat(new byte[] { WireHeader.Magic0, WireHeader.Magic1, WireHeader.VersionOf(t), (byte)t }, body);
        DecodeAll(b, 0, b.Length);
    }

    [Property(MaxTest = Runs)]
    public void Random_offset_and_count(byte[] data, int offset, int count)
    {
        DecodeAll(data ?? Array.Empty<byte>(), offset, count);
    }

    [Property(MaxTest = Runs)]
    public void Mutated_valid_messages(NonNegativeInt which, int[] positions, byte[] values, int lengthChange)
    {
        var name = Samples.Decoders[which.Get % Samples.Decoders.Length].Name;
        var m = Mutate(Samples.Valid(name), positions, values, lengthChange);
        DecodeAll(m, 0, m.Length);
    }

    /// <summary>The message with the bytes at positions set to values (or inverted), shortened or lengthened by a few bytes.</summary>
    private static byte[] Mutate(byte[] b, int[] positions, byte[] values, int lengthChange)
    {
        positions ??= Array.Empty<int>();
        values ??= Array.Empty<byte>();
        for (int i = 0; i < positions.Length; i++)
        {
            int at = (int)((uint)positions[i] % (uint)b.Length);
            b[at] = values.Length == 0 ? (byte)~b[at] : values[i % values.Length];
        }
        // Shorten or lengthen by a few bytes now and then.
        int newLength = Math.Max(0, b.Length + (lengthChange % 8));
        var m = new byte[newLength];
        Array.Copy(b, m, Math.Min(b.Length, newLength));
        return m;
    }

    [Property(MaxTest = Runs)]
    public void Mutated_length_and_count_fields(NonNegativeInt which, NonNegativeInt field, uint value)
    {
        // Hits the 16/32-bit fields (counts, sizes, lengths) at every 4-aligned and odd offset with any value.
        var name = Samples.Decoders[which.Get % Samples.Decoders.Length].Name;
        var b = Samples.Valid(name);
        int at = 4 + field.Get % Math.Max(1, Math.Min(b.Length, 64) - 7);
        if (at + 4 <= b.Length) b = Samples.WithU32(b, at, value);
        DecodeAll(b, 0, b.Length);
    }

    [Property(MaxTest = 300)]
    public void Every_single_byte_flip_of_every_message(NonNegativeInt which, byte xor)
    {
        if (xor == 0) xor = 0xFF;
        var name = Samples.Decoders[which.Get % Samples.Decoders.Length].Name;
        var b = Samples.Valid(name);
        for (int i = 0; i < b.Length; i++)
        {
            b[i] ^= xor;
            DecodeAll(b, 0, b.Length);
            b[i] ^= xor;
        }
    }

    [Property(MaxTest = Runs)]
    public void Mutated_donor_orders_with_target_tail(int[] positions, byte[] values, int lengthChange)
    {
        // the optional tail of RepairRequest (not in Samples.Decoders: its first 23 bytes are a valid old request)
        var m = Mutate(Samples.RepairOrderBytes(21), positions, values, lengthChange);
        DecodeAll(m, 0, m.Length);
    }

    [Property(MaxTest = 300)]
    public void Every_single_byte_flip_of_a_donor_order(byte xor)
    {
        if (xor == 0) xor = 0xFF;
        var b = Samples.RepairOrderBytes(21);
        for (int i = 0; i < b.Length; i++)
        {
            b[i] ^= xor;
            DecodeAll(b, 0, b.Length);
            b[i] ^= xor;
        }
    }
}
