using IotOta.Gateway.Api;
using IotOta.Gateway.Images;

namespace IotOta.Gateway.Tests.Api;

/// <summary>The host finds the board profiles next to it, and the image-fit check names the board.</summary>
public sealed class KnownBoardsTests
{
    [Fact]
    public void A_board_profile_check_names_the_board()
    {
        var board = KnownBoards.Find("esp32-devkitc")!;
        Assert.Null(ImageFit.Problem(board.SlotSize, 2048, board.Name, board.SlotSize, board.MaxChunkSize));
        Assert.Equal($"the image of {board.SlotSize + 1} bytes does not fit board esp32-devkitc's update slot of {board.SlotSize} bytes; its chunk size 4096 exceeds board esp32-devkitc's max chunk of 2048 bytes",
            ImageFit.Problem(board.SlotSize + 1, 4096, board.Name, board.SlotSize, board.MaxChunkSize));
        Assert.Null(KnownBoards.Find("no-such-board"));
    }
}
