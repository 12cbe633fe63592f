using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests;

/// <summary>Valid sample messages of every type, and every decoder behind one signature.</summary>
public static class Samples
{
    public delegate void Decoder(byte[] buffer, int offset, int count);

    /// <summary>Every decoder of src/Shared, by name. Each one gets a fresh target instance.</summary>
    public static readonly (string Name, Decoder Decode)[] Decoders =
    {
        ("Manifest", (b, o, c) => Manifest.Decode(b, o, c)),
        ("DataPacket", (b, o, c) => new DataPacket().Parse(b, o, c)),
        ("ReceiptNotice", (b, o, c) => new ReceiptNotice().Parse(b, o, c)),
        ("ProgressReport", (b, o, c) => new ProgressReport().Parse(b, o, c)),
        ("MemberListUpdate", (b, o, c) => new MemberListUpdate().Parse(b, o, c)),
        ("RepairRequest", (b, o, c) => new RepairRequest().Parse(b, o, c)),
        ("Presence", (b, o, c) => new Presence().Parse(b, o, c)),
        ("RelayTree", (b, o, c) => new RelayTree().Parse(b, o, c)),
        ("ImageRoot", (b, o, c) => new ImageRoot().Parse(b, o, c)),
        ("HashPiece", (b, o, c) => new HashPiece().Parse(b, o, c)),
        ("PieceRequest", (b, o, c) => new PieceRequest().Parse(b, o, c)),
        ("NoticeBatch", (b, o, c) => new NoticeBatch().Parse(b, o, c)),
        ("CompactNoticeBatch", (b, o, c) => new NoticeBatch().Parse(b, o, c)),
        ("RelayTreeDigest", (b, o, c) => new RelayTreeDigest().Parse(b, o, c)),
    };

    public static Decoder DecoderFor(string name)
    {
        foreach (var d in Decoders)
        {
            if (d.Name == name) return d.Decode;
        }
        throw new ArgumentException("no decoder " + name);
    }

    /// <summary>One valid encoded message per decoder name (the names of <see cref="Decoders"/>).</summary>
    public static byte[] Valid(string name) => name switch
    {
        "Manifest" => ManifestBytes(),
        "DataPacket" => DataPacketBytes(MessageType.Copy, 3, 40),
        "ReceiptNotice" => ReceiptNoticeBytes(),
        "ProgressReport" => ProgressReportBytes(21),
        "MemberListUpdate" => MemberListBytes(3),
        "RepairRequest" => RepairRequestBytes(21),
        "Presence" => PresenceBytes(),
        "RelayTree" => RelayTreeBytes(2, 3),
        "ImageRoot" => ImageRootBytes(),
        "HashPiece" => HashPieceBytes(3, 2),
        "PieceRequest" => PieceRequestBytes(),
        "NoticeBatch" => NoticeBatchBytes(3),
        "CompactNoticeBatch" => CompactNoticeBatchBytes(3),
        "RelayTreeDigest" => RelayTreeDigestBytes(),
        _ => throw new ArgumentException("no sample " + name),
    };

    /// <summary>The message type byte each decoder accepts (DataPacket accepts two).</summary>
    public static MessageType[] AcceptedTypes(string name) => name switch
    {
        "Manifest" => new[] { MessageType.Manifest },
        "DataPacket" => new[] { MessageType.Original, MessageType.Copy },
        "ReceiptNotice" => new[] { MessageType.ReceiptNotice },
        "ProgressReport" => new[] { MessageType.ProgressReport },
        "MemberListUpdate" => new[] { MessageType.MemberList },
        "RepairRequest" => new[] { MessageType.RepairRequest },
        "Presence" => new[] { MessageType.Presence },
        "RelayTree" => new[] { MessageType.RelayTree },
        "ImageRoot" => new[] { MessageType.ImageRoot },
        "HashPiece" => new[] { MessageType.HashPiece },
        "PieceRequest" => new[] { MessageType.PieceRequest },
        "NoticeBatch" or "CompactNoticeBatch" => new[] { MessageType.NoticeBatch, MessageType.CompactNoticeBatch },
        "RelayTreeDigest" => new[] { MessageType.RelayTreeDigest },
        _ => throw new ArgumentException("no sample " + name),
    };

    public static IEnumerable<object[]> DecoderNames()
    {
        foreach (var d in Decoders) yield return new object[] { d.Name };
    }

    public static byte[] Filled(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static Manifest SampleManifest(uint imageSize = 1000, int chunkSize = 256, ChunkHashKind kind = ChunkHashKind.Sha256)
    {
        int count = Manifest.ChunkCountFor(imageSize, chunkSize);
        return new Manifest
        {
            ImageId = 0xA1B2C3D4,
            Version = new FirmwareVersion(1, 2, 3),
            Flags = Manifest.FlagRollback,
            HashKind = kind,
            ImageSize = imageSize,
            ChunkSize = chunkSize,
            ChunkCount = count,
            ImageHash = Filled(Manifest.HashLength, 1),
            ChunkHashes = Filled(count * Manifest.HashLength, 2),
            KeyId = 7,
            Signature = Filled(Manifest.SignatureLength, 3),
        };
    }

    public static byte[] ManifestBytes() => SampleManifest().ToBytes();

    public static byte[] DataPacketBytes(MessageType type, int targets, int payloadLength)
    {
        var node = new uint[DataPacket.MaxTargets];
        var ip = new uint[DataPacket.MaxTargets];
        var port = new int[DataPacket.MaxTargets];
        for (int i = 0; i < targets; i++)
        {
            node[i] = (uint)(100 + i);
            ip[i] = 0x0A000001u + (uint)i;
            port[i] = 40000 + i;
        }
        var payload = Filled(payloadLength, 4);
        var buf = new byte[DataPacket.EncodedLength(targets, payloadLength)];
        DataPacket.Write(new WireWriter(buf), type, 77, 5, DataPacket.FlagRelay, 9, targets, node, ip, port, payload, 0, payloadLength);
        return buf;
    }

    public static byte[] ReceiptNoticeBytes()
    {
        var n = new ReceiptNotice
        {
            NodeId = 12, ImageId = 77, Index = 5, Kind = ReceiptNotice.KindRelay,
            ReceiveTimeMs = 1234567890123, ForwardedTimeMs = 1234567890456, CopiesSent = 4,
        };
        var buf = new byte[ReceiptNotice.EncodedLength];
        n.Encode(buf, 0);
        return buf;
    }

    public static byte[] ProgressReportBytes(int chunkCount)
    {
        var bm = new PacketBitmap(chunkCount);
        for (int i = 0; i < chunkCount; i += 3) bm.Set(i);
        var p = new ProgressReport
        {
            NodeId = 12, ImageId = 77, State = DeviceState.Receiving, RunningVersion = new FirmwareVersion(1, 0, 0),
            ChunkCount = chunkCount, HeldCount = bm.HeldCount, BitmapBuffer = bm.Bytes, BitmapOffset = 0,
        };
        var buf = new byte[ProgressReport.EncodedLength(chunkCount)];
        p.Encode(buf, 0);
        return buf;
    }

    public static byte[] MemberListBytes(int count)
    {
        var m = new MemberListUpdate { GroupId = 3, Epoch = 17, Count = count };
        m.EnsureCapacity(count);
        for (int i = 0; i < count; i++)
        {
            m.NodeIds[i] = (uint)(500 + i);
            m.Ips[i] = 0xC0A80000u + (uint)i;
            m.Ports[i] = 5000 + i;
        }
        return m.ToBytes();
    }

    /// <summary>A relay-tree table of group 7 (image 0xA1B2C3D4, epoch 5, tree 2 of 8) with children groups 100, 101, …
    /// each naming candidatesEach candidates (node 1000·(c+1) + j, ip 0x0A000000 + node, port 6000 + j).</summary>
    public static RelayTree RelayTreeSample(int children, int candidatesEach)
    {
        var t = new RelayTree { ImageId = 0xA1B2C3D4, GroupId = 7, Epoch = 5, TreeCount = 8, Tree = 2, ChildCount = children };
        for (int c = 0; c < children; c++)
        {
            t.ChildGroup[c] = 100 + c;
            t.CandidateCount[c] = candidatesEach;
            for (int j = 0; j < candidatesEach; j++)
            {
                int s = c * RelayTree.MaxCandidates + j;
                t.CandidateNode[s] = (uint)(1000 * (c + 1) + j);
                t.CandidateIp[s] = 0x0A000000u + t.CandidateNode[s];
                t.CandidatePort[s] = 6000 + j;
            }
        }
        return t;
    }

    public static byte[] RelayTreeBytes(int children, int candidatesEach) => RelayTreeSample(children, candidatesEach).ToBytes();

    public static byte[] RepairRequestBytes(int chunkCount)
    {
        var bm = new PacketBitmap(chunkCount);
        for (int i = 0; i < chunkCount; i += 2) bm.Set(i);
        var missing = new byte[PacketBitmap.ByteLength(chunkCount)];
        bm.WriteMissing(missing, 0);
        var r = new RepairRequest { NodeId = 12, ImageId = 77, ChunkCount = chunkCount, MaxReplies = 16, MissingBuffer = missing, MissingOffset = 0 };
        var buf = new byte[RepairRequest.EncodedLength(chunkCount)];
        r.Encode(buf, 0);
        return buf;
    }

    /// <summary>A root for a 1000-byte image in 256-byte chunks (4 chunks), 3 hashes per piece (2 pieces).</summary>
    public static ImageRoot SampleRoot() => new()
    {
        ImageId = 77, Version = new FirmwareVersion(2, 1, 3), Flags = 0, HashKind = ChunkHashKind.HmacSha256PublicKey,
        ImageSize = 1000, ChunkSize = 256, ChunkCount = 4, HashesPerPiece = 3,
        ImageHash = Filled(32, 1), HashListRoot = Filled(32, 2), KeyId = 5, Signature = Filled(64, 3),
    };

    public static byte[] ImageRootBytes() => SampleRoot().ToBytes();

    public static byte[] HashPieceBytes(int hashes, int proof)
    {
        var b = new byte[HashPiece.EncodedLength(hashes, proof)];
        HashPiece.Encode(b, 0, 77, 1, 4, Filled(32 * hashes, 4), 0, hashes, Filled(32 * Math.Max(1, proof), 5), 0, proof);
        return b;
    }

    public static byte[] RelayTreeDigestBytes()
    {
        var d = new RelayTreeDigest { ImageId = 77, GroupId = 5, Epoch = 9, TableLength = 120 };
        for (int i = 0; i < RelayTreeDigest.DigestLength; i++) d.Digest[i] = (byte)(0xA0 + i);
        var b = new byte[RelayTreeDigest.EncodedLength];
        d.Encode(b, 0);
        return b;
    }

    public static byte[] PieceRequestBytes()
    {
        var b = new byte[PieceRequest.EncodedLength];
        new PieceRequest { NodeId = 12, ImageId = 77, What = PieceRequest.WhatHashPieces, First = 2, Count = 3 }.Encode(b, 0);
        return b;
    }

    public static byte[] NoticeBatchBytes(int count)
    {
        var n = new NoticeBatch { NodeId = 12, ImageId = 77 };
        for (int i = 0; i < count; i++) n.Add(5 + i, (byte)(i & 1), 1000 + 10 * i, 1003 + 10 * i, i);
        var b = new byte[NoticeBatch.EncodedLength(count)];
        n.Encode(b, 0);
        return b;
    }

    public static byte[] CompactNoticeBatchBytes(int count)
    {
        var n = new NoticeBatch { ImageId = 77, Compact = true };
        for (int i = 0; i < count; i++) n.Add(5 + i, (byte)(i & 1), 1000 + 10 * i, 1003 + 10 * i, i);
        var b = new byte[NoticeBatch.CompactEncodedLength(count)];
        n.Encode(b, 0);
        return b;
    }

    /// <summary>A donor order with the target tail: node 12 of another group at 127.0.0.1:45001, relay mode.</summary>
    public static byte[] RepairOrderBytes(int chunkCount)
    {
        var bm = new PacketBitmap(chunkCount);
        for (int i = 0; i < chunkCount; i += 2) bm.Set(i);
        var missing = new byte[PacketBitmap.ByteLength(chunkCount)];
        bm.WriteMissing(missing, 0);
        var r = new RepairRequest
        {
            NodeId = 12, ImageId = 77, ChunkCount = chunkCount, MaxReplies = 16, MissingBuffer = missing, MissingOffset = 0,
            HasTarget = true, TargetIp = 0x0100007F, TargetPort = 45001, TargetMode = RepairRequest.ModeRelay,
        };
        var buf = new byte[RepairRequest.EncodedLength(chunkCount, true)];
        r.Encode(buf, 0);
        return buf;
    }

    public static byte[] PresenceBytes()
    {
        var p = new Presence
        {
            NodeId = 12, GroupId = 3, Online = true, Ip = 0x0100007F, Port = 45000,
            RunningVersion = new FirmwareVersion(2, 5, 9), State = DeviceState.PendingConfirm,
        };
        return p.ToBytes();
    }

    /// <summary>Little-endian patch helpers for building malformed inputs.</summary>
    public static byte[] WithU16(byte[] src, int at, int v)
    {
        var b = (byte[])src.Clone();
        b[at] = (byte)v;
        b[at + 1] = (byte)(v >> 8);
        return b;
    }

    public static byte[] WithU32(byte[] src, int at, uint v)
    {
        var b = (byte[])src.Clone();
        b[at] = (byte)v;
        b[at + 1] = (byte)(v >> 8);
        b[at + 2] = (byte)(v >> 16);
        b[at + 3] = (byte)(v >> 24);
        return b;
    }

    public static byte[] WithByte(byte[] src, int at, byte v)
    {
        var b = (byte[])src.Clone();
        b[at] = v;
        return b;
    }

    public static byte[] Concat(byte[] a, params byte[] tail)
    {
        var b = new byte[a.Length + tail.Length];
        Buffer.BlockCopy(a, 0, b, 0, a.Length);
        Buffer.BlockCopy(tail, 0, b, a.Length, tail.Length);
        return b;
    }

    /// <summary>Runs a decoder and returns the ProtocolError it threw; fails on any other exception or none.</summary>
    public static ProtocolError ErrorOf(Decoder d, byte[]? b) => ErrorOf(d, b, 0, b?.Length ?? 0);

    public static ProtocolError ErrorOf(Decoder d, byte[]? b, int offset, int count)
    {
        var ex = Assert.Throws<ProtocolException>(() => d(b!, offset, count));
        Assert.False(string.IsNullOrEmpty(ex.Message));
        return ex.Error;
    }
}
