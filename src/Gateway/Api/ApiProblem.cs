namespace IotOta.Gateway.Api;

/// <summary>Thrown for requests the API answers with a 4xx problem: status, title and detail.</summary>
public sealed class ApiProblem(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
}
