namespace AzMi;

/// <summary>
/// The result of an azmi call (<c>enum azmi_status</c> of include/azmi.h). The numbers are
/// stable; <see cref="AzMiException.Status"/> is never <see cref="Ok"/>.
/// </summary>
public enum AzMiStatus
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>An argument was NULL, not UTF-8, malformed or contradictory.</summary>
    InvalidArgument = 1,

    /// <summary>The call was cancelled (its <c>CancellationToken</c>, or <see cref="AzMiLibrary.Shutdown"/>).</summary>
    Cancelled = 2,

    /// <summary>No managed identity endpoint answered: not on Azure, or the endpoint is unreachable.</summary>
    ManagedIdentityUnavailable = 3,

    /// <summary>The requested identity is not assigned to this machine.</summary>
    IdentityNotFound = 4,

    /// <summary>Entra ID does not know the requested resource (AADSTS50001).</summary>
    InvalidResource = 5,

    /// <summary>A service rejected the token (HTTP 401).</summary>
    AuthenticationFailed = 6,

    /// <summary>The identity lacks permission (HTTP 403).</summary>
    PermissionDenied = 7,

    /// <summary>The item does not exist (HTTP 404).</summary>
    NotFound = 8,

    /// <summary>The item exists already or changed meanwhile.</summary>
    Conflict = 9,

    /// <summary>The service kept throttling after the retries.</summary>
    Throttled = 10,

    /// <summary>The operation ran out of time.</summary>
    Timeout = 11,

    /// <summary>Any other error answered by a service (see the HTTP status and service code).</summary>
    ServiceError = 12,

    /// <summary>A response did not have the expected form.</summary>
    ProtocolError = 13,

    /// <summary>A connection failed.</summary>
    NetworkError = 14,

    /// <summary>A local file could not be read or written.</summary>
    IoError = 15,

    /// <summary>azmi refused to send a token somewhere unsafe (plain HTTP off loopback, a foreign host).</summary>
    InsecureRequest = 16,

    /// <summary>The call cannot run here (from inside azmi's runtime, e.g. a progress callback).</summary>
    RuntimeError = 17,

    /// <summary>A bug in azmi (a caught panic). Please report it.</summary>
    InternalError = 18,

    /// <summary>
    /// A service refused the token with a claims challenge again after azmi answered it once
    /// (continuous access evaluation: access revoked, or a policy now refuses it); the
    /// exception (<see cref="AzMiClaimsChallengeException"/>) carries the claims.
    /// </summary>
    ClaimsChallenge = 19,

    /// <summary>The proxy asked for credentials (HTTP 407), refused the request, or could not be reached.</summary>
    ProxyError = 20,
}
