using IotOta.BoardProfiles;

namespace IotOta.Gateway.Api;

/// <summary>The board profiles the gateway knows (boards/*.json next to it): an upload that names one is cut to its
/// largest chunk and must fit its slot.</summary>
public static class KnownBoards
{
    /// <summary>The profile boards/{name}.json, or null when there is none (a board name the gateway has no profile
    /// for is not judged).</summary>
    public static BoardProfile? Find(string name)
    {
        try
        {
            return BoardProfile.Named(name);
        }
        catch (BoardProfileException)
        {
            return null;
        }
    }
}
