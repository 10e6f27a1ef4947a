namespace AzMi;

/// <summary>
/// What <c>Get-AzMiManagedIdentity</c> reports: the managed identity source this process sees
/// (or -Source chose), its token endpoint, the identity options it serves, and whether it
/// answered a token request for Resource Manager, and which way token and service requests go
/// (through a proxy or direct).
/// </summary>
public sealed class ManagedIdentityInfo
{
    internal ManagedIdentityInfo(string source, string endpoint, string identity, string[] identityOptions, bool available, string? detail, string tokenRoute, string serviceProxy)
    {
        TokenRoute = tokenRoute;
        ServiceProxy = serviceProxy;
        Source = source;
        Endpoint = endpoint;
        Identity = identity;
        IdentityOptions = identityOptions;
        Available = available;
        Detail = detail;
    }

    /// <summary>Imds, AppService, ServiceFabric, AzureML, CloudShell, Arc or WorkloadIdentity.</summary>
    public string Source { get; }

    /// <summary>The token URL the source's requests go to.</summary>
    public string Endpoint { get; }

    /// <summary>The identity asked for, e.g. "the system-assigned identity".</summary>
    public string Identity { get; }

    /// <summary>Which of SystemAssigned, ClientId, ObjectId and ResourceId the source serves.</summary>
    public string[] IdentityOptions { get; }

    /// <summary>Whether a token request for Resource Manager succeeded within a few seconds.</summary>
    public bool Available { get; }

    /// <summary>Why not, when <see cref="Available"/> is false (azmi's message); else null.</summary>
    public string? Detail { get; }

    /// <summary>
    /// Which way token requests go: "direct: managed identity endpoints never go through a
    /// proxy", or for workload identity's exchange at Entra ID, as a service request.
    /// </summary>
    public string TokenRoute { get; }

    /// <summary>Where service requests go (the proxy setting in one line, as Get-AzMiProxy says it).</summary>
    public string ServiceProxy { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Source} at {Endpoint} ({(Available ? "available" : "not available")})";
}
