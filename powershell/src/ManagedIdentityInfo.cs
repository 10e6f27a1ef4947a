using AzMi.Native;

namespace AzMi;

/// <summary>
/// What <c>Get-AzMiManagedIdentity</c> reports: the managed identity source this process sees
/// (or -Source chose), its token endpoint, the identity options it serves, whether it answered
/// a token request, which identity the token was for (its claims, read and not verified), and
/// which way token and service requests go (through a proxy or direct).
/// </summary>
public sealed class ManagedIdentityInfo
{
    internal ManagedIdentityInfo(
        string source,
        string endpoint,
        string identity,
        string[] identityOptions,
        bool available,
        string? detail,
        string environment,
        string resource,
        NativeIdentity.TokenClaims? claims,
        string tokenRoute,
        string serviceProxy)
    {
        TokenRoute = tokenRoute;
        ServiceProxy = serviceProxy;
        Source = source;
        Endpoint = endpoint;
        Identity = identity;
        IdentityOptions = identityOptions;
        Available = available;
        Detail = detail;
        Environment = environment;
        Resource = resource;
        TenantId = claims?.TenantId;
        ObjectId = claims?.ObjectId;
        ClientId = claims?.ClientId;
        IdentityResourceId = claims?.IdentityResourceId;
    }

    /// <summary>Imds, AppService, ServiceFabric, AzureML, CloudShell, Arc or WorkloadIdentity.</summary>
    public string Source { get; }

    /// <summary>The token URL the source's requests go to.</summary>
    public string Endpoint { get; }

    /// <summary>The identity asked for, e.g. "the system-assigned identity".</summary>
    public string Identity { get; }

    /// <summary>Which of SystemAssigned, ClientId, ObjectId and ResourceId the source serves.</summary>
    public string[] IdentityOptions { get; }

    /// <summary>Whether a token request for <see cref="Resource"/> succeeded within a few seconds.</summary>
    public bool Available { get; }

    /// <summary>Why not, when <see cref="Available"/> is false (azmi's message); else null.</summary>
    public string? Detail { get; }

    /// <summary>The Azure cloud (AzureCloud, AzureUSGovernment, AzureChinaCloud).</summary>
    public string Environment { get; }

    /// <summary>The resource the probe's token was asked for.</summary>
    public string Resource { get; }

    /// <summary>The tenant, claim <c>tid</c> of the token: read, not verified.</summary>
    public string? TenantId { get; }

    /// <summary>The identity's object (principal) id, claim <c>oid</c>: read, not verified.</summary>
    public string? ObjectId { get; }

    /// <summary>The identity's client id, claim <c>appid</c> (or <c>azp</c>): read, not verified.</summary>
    public string? ClientId { get; }

    /// <summary>The identity's Azure resource id, claim <c>xms_mirid</c>: read, not verified.</summary>
    public string? IdentityResourceId { get; }

    /// <summary>
    /// Where TenantId, ObjectId, ClientId and IdentityResourceId come from: always false, as they
    /// are read from the token's payload; only the service receiving a token verifies it.
    /// </summary>
    public bool ClaimsVerified => false;
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
