using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class PieceRequestTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new PieceRequest().Parse(x, o, c), b);

    [Fact]
    public void Golden_layout_and_round_trip()
    {
        var b = Samples.PieceRequestBytes();
        Assert.Equal(17, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 2, 12, 12, 0, 0, 0, 77, 0, 0, 0, 1, 2, 0, 3, 0 }, b);
        var r = new PieceRequest();
        r.Parse(b, 0, b.Length);
        Assert.Equal((12u, 77u, PieceRequest.WhatHashPieces, 2, 3), (r.NodeId, r.ImageId, r.What, r.First, r.Count));
    }

    [Fact]
    public void A_root_request_names_no_pieces()
    {
        var b = new byte[PieceRequest.EncodedLength];
        new PieceRequest { NodeId = 1, ImageId = 2, What = PieceRequest.WhatRoot }.Encode(b, 0);
        var r = new PieceRequest();
        r.Parse(b, 0, b.Length);
        Assert.Equal(PieceRequest.WhatRoot, r.What);
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 15, 1)));
    }

    [Fact]
    public void Fields_out_of_range()
    {
        var b = Samples.PieceRequestBytes();
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(b, 12, 2)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 15, 0)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 15, PieceRequest.MaxCount + 1)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 13, Manifest.MaxChunkCount)));
    }
}
