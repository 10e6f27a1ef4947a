using System;

namespace AzMi;

/// <summary>
/// An error reported by azmi: its <see cref="Status"/>, the <see cref="HttpStatus"/> the service
/// answered with and the service's own <see cref="ServiceErrorCode"/>. The message says what
/// failed, why and what to do; it never contains a token, a secret value or a SAS.
/// </summary>
/// <remarks>
/// The statuses a caller most often handles have their own subclasses, so that
/// <c>catch (AzMiNotFoundException)</c> works as well as a filter on <see cref="Status"/>:
/// <see cref="AzMiNotFoundException"/>, <see cref="AzMiConflictException"/>,
/// <see cref="AzMiThrottledException"/>, <see cref="AzMiIdentityNotFoundException"/>,
/// <see cref="AzMiUnavailableException"/>, <see cref="AzMiPermissionDeniedException"/>,
/// <see cref="AzMiAuthenticationFailedException"/> and <see cref="AzMiClaimsChallengeException"/>.
/// A call cancelled through its
/// <c>CancellationToken</c> throws <see cref="OperationCanceledException"/> instead.
/// </remarks>
public class AzMiException : Exception
{
    /// <summary>An error with the given status and details.</summary>
    /// <param name="status">azmi's status (not <see cref="AzMiStatus.Ok"/>).</param>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The service's HTTP status, or 0 when no service answered.</param>
    /// <param name="serviceErrorCode">The service's own error code, or null.</param>
    public AzMiException(AzMiStatus status, string message, int httpStatus = 0, string? serviceErrorCode = null)
        : base(message)
    {
        Status = status;
        HttpStatus = httpStatus;
        ServiceErrorCode = serviceErrorCode;
    }

    /// <summary>azmi's status, e.g. <see cref="AzMiStatus.IdentityNotFound"/>.</summary>
    public AzMiStatus Status { get; }

    /// <summary>
    /// azmi's stable name of the status, e.g. "IdentityNotFound" (<c>azmi_status_name</c>); the
    /// same names as the PowerShell module's error ids.
    /// </summary>
    public string StatusName => Status.ToString();

    /// <summary>The HTTP status the service answered with, or 0 when no service answered.</summary>
    public int HttpStatus { get; }

    /// <summary>
    /// The service's own error code (e.g. "invalid_request", "PathNotFound",
    /// "ResourceGroupNotFound", "SecretNotFound"), or null when it gave none.
    /// </summary>
    public string? ServiceErrorCode { get; }

    /// <summary>The exception for a status: the subclass for it when there is one.</summary>
    internal static AzMiException Create(AzMiStatus status, string message, int httpStatus, string? serviceErrorCode, string? claims = null) => status switch
    {
        AzMiStatus.ClaimsChallenge => new AzMiClaimsChallengeException(message, claims ?? string.Empty, httpStatus, serviceErrorCode),
        AzMiStatus.NotFound => new AzMiNotFoundException(message, httpStatus, serviceErrorCode),
        AzMiStatus.Conflict => new AzMiConflictException(message, httpStatus, serviceErrorCode),
        AzMiStatus.Throttled => new AzMiThrottledException(message, httpStatus, serviceErrorCode),
        AzMiStatus.IdentityNotFound => new AzMiIdentityNotFoundException(message, httpStatus, serviceErrorCode),
        AzMiStatus.ManagedIdentityUnavailable => new AzMiUnavailableException(message, httpStatus, serviceErrorCode),
        AzMiStatus.PermissionDenied => new AzMiPermissionDeniedException(message, httpStatus, serviceErrorCode),
        AzMiStatus.AuthenticationFailed => new AzMiAuthenticationFailedException(message, httpStatus, serviceErrorCode),
        AzMiStatus.ProxyError => new AzMiProxyException(message, httpStatus),
        _ => new AzMiException(status, message, httpStatus, serviceErrorCode),
    };
}

/// <summary><see cref="AzMiStatus.NotFound"/>: the secret, path, blob or resource does not exist (HTTP 404).</summary>
public sealed class AzMiNotFoundException : AzMiException
{
    /// <summary>A not-found error.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The service's HTTP status (404), or 0.</param>
    /// <param name="serviceErrorCode">The service's own error code, or null.</param>
    public AzMiNotFoundException(string message, int httpStatus = 404, string? serviceErrorCode = null)
        : base(AzMiStatus.NotFound, message, httpStatus, serviceErrorCode)
    {
    }
}

/// <summary><see cref="AzMiStatus.Conflict"/>: the item exists already (and no overwrite was asked) or changed meanwhile.</summary>
public sealed class AzMiConflictException : AzMiException
{
    /// <summary>A conflict.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The service's HTTP status (409, 412), or 0 for a local file.</param>
    /// <param name="serviceErrorCode">The service's own error code, or null.</param>
    public AzMiConflictException(string message, int httpStatus = 0, string? serviceErrorCode = null)
        : base(AzMiStatus.Conflict, message, httpStatus, serviceErrorCode)
    {
    }
}

/// <summary><see cref="AzMiStatus.Throttled"/>: the service kept throttling (429, 503) after azmi's retries.</summary>
public sealed class AzMiThrottledException : AzMiException
{
    /// <summary>A throttling error.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The service's HTTP status (429 or 503).</param>
    /// <param name="serviceErrorCode">The service's own error code, or null.</param>
    public AzMiThrottledException(string message, int httpStatus = 429, string? serviceErrorCode = null)
        : base(AzMiStatus.Throttled, message, httpStatus, serviceErrorCode)
    {
    }
}

/// <summary><see cref="AzMiStatus.IdentityNotFound"/>: the requested user-assigned identity is not assigned to this machine.</summary>
public sealed class AzMiIdentityNotFoundException : AzMiException
{
    /// <summary>An identity-not-found error.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The token endpoint's HTTP status (usually 400).</param>
    /// <param name="serviceErrorCode">The endpoint's error code (e.g. "invalid_request"), or null.</param>
    public AzMiIdentityNotFoundException(string message, int httpStatus = 400, string? serviceErrorCode = null)
        : base(AzMiStatus.IdentityNotFound, message, httpStatus, serviceErrorCode)
    {
    }
}

/// <summary>
/// <see cref="AzMiStatus.ManagedIdentityUnavailable"/>: no managed identity endpoint answered
/// (not on Azure, or the endpoint is unreachable). azmi fails fast here (about a second).
/// </summary>
public sealed class AzMiUnavailableException : AzMiException
{
    /// <summary>An unavailable error.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The HTTP status, or 0 when nothing answered.</param>
    /// <param name="serviceErrorCode">The endpoint's error code, or null.</param>
    public AzMiUnavailableException(string message, int httpStatus = 0, string? serviceErrorCode = null)
        : base(AzMiStatus.ManagedIdentityUnavailable, message, httpStatus, serviceErrorCode)
    {
    }
}

/// <summary><see cref="AzMiStatus.PermissionDenied"/>: the identity lacks permission (HTTP 403).</summary>
public sealed class AzMiPermissionDeniedException : AzMiException
{
    /// <summary>A permission error.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The service's HTTP status (403).</param>
    /// <param name="serviceErrorCode">The service's own error code (e.g. "AuthorizationFailed"), or null.</param>
    public AzMiPermissionDeniedException(string message, int httpStatus = 403, string? serviceErrorCode = null)
        : base(AzMiStatus.PermissionDenied, message, httpStatus, serviceErrorCode)
    {
    }
}

/// <summary><see cref="AzMiStatus.AuthenticationFailed"/>: a service rejected the token (HTTP 401).</summary>
public sealed class AzMiAuthenticationFailedException : AzMiException
{
    /// <summary>An authentication error.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The service's HTTP status (401).</param>
    /// <param name="serviceErrorCode">The service's own error code, or null.</param>
    public AzMiAuthenticationFailedException(string message, int httpStatus = 401, string? serviceErrorCode = null)
        : base(AzMiStatus.AuthenticationFailed, message, httpStatus, serviceErrorCode)
    {
    }
}

/// <summary>
/// <see cref="AzMiStatus.ClaimsChallenge"/>: a service refused the token with a claims challenge
/// (continuous access evaluation: the identity's access was revoked, or a policy wants more)
/// and refused again the new token azmi got with those claims, or the request could not be
/// repeated. <see cref="Claims"/> is what the service asks for.
/// </summary>
/// <remarks>
/// azmi's own calls answer one challenge themselves; this exception means that answer did not
/// satisfy the service. To try again with a token carrying the claims (for code that sends the
/// token itself), pass <see cref="Claims"/> to
/// <see cref="AzMiIdentity.GetTokenAsync(string, string?, System.Threading.CancellationToken)"/>.
/// </remarks>
public sealed class AzMiClaimsChallengeException : AzMiException
{
    /// <summary>A claims challenge azmi could not answer.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="claims">The claims the service asks for, as JSON.</param>
    /// <param name="httpStatus">The service's HTTP status (401).</param>
    /// <param name="serviceErrorCode">The service's own error code, or null.</param>
    public AzMiClaimsChallengeException(string message, string claims, int httpStatus = 401, string? serviceErrorCode = null)
        : base(AzMiStatus.ClaimsChallenge, message, httpStatus, serviceErrorCode)
    {
        Claims = claims ?? throw new System.ArgumentNullException(nameof(claims));
    }

    /// <summary>
    /// The claims the service's challenge asks for, as JSON (e.g.
    /// <c>{"access_token":{"nbf":{"essential":true,"value":"1767225600"}}}</c>). Not secret.
    /// </summary>
    public string Claims { get; }
}

/// <summary>
/// <see cref="AzMiStatus.ProxyError"/>: the proxy of service requests asked for credentials
/// (<see cref="AzMiException.HttpStatus"/> 407), refused the request (403, 502, …), or could not
/// be reached (0). The message names the proxy (never its credentials) and what to do; see
/// <see cref="AzMiLibrary.SetProxy(System.Uri, string, System.Net.NetworkCredential)"/>.
/// </summary>
public sealed class AzMiProxyException : AzMiException
{
    /// <summary>A proxy error.</summary>
    /// <param name="message">The message for people.</param>
    /// <param name="httpStatus">The proxy's HTTP status (407, 403, 502…), or 0 when it could not be reached.</param>
    public AzMiProxyException(string message, int httpStatus = 0)
        : base(AzMiStatus.ProxyError, message, httpStatus, null)
    {
    }
}
