namespace AzMi;

/// <summary>
/// What <c>Get-AzMiManagedIdentity</c> reports: the managed identity source this process sees
/// (or -Source chose), its token endpoint, the identity options it serves, and whether it
/// answered a token request for Resource Manager.
/// </summary>
public sealed class ManagedIdentityInfo
{
    internal ManagedIdentityInfo(string source, string endpoint, string identity, string[] identityOptions, bool available, string? detail)
    {
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

    /// <inheritdoc />
    public override string ToString() => $"{Source} at {Endpoint} ({(Available ? "available" : "not available")})";
}
