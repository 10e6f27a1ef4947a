using System;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// An error reported by azmi. It is the Exception of every ErrorRecord the AzMi cmdlets write,
/// whose ErrorId is <c>AzMi.</c> + <see cref="Status"/>.
/// </summary>
public sealed class AzMiException : Exception
{
    internal AzMiException(AzMiStatus status, string statusName, string message, int httpStatus, string? serviceErrorCode, string? claims = null)
        : base(message)
    {
        StatusCode = status;
        Status = statusName;
        HttpStatus = httpStatus;
        ServiceErrorCode = serviceErrorCode;
        Claims = claims;
    }

    /// <summary>azmi's stable name of the status, e.g. "IdentityNotFound" (azmi_status_name).</summary>
    public string Status { get; }

    /// <summary>The HTTP status the service answered with, or 0 when no service answered.</summary>
    public int HttpStatus { get; }

    /// <summary>The service's own error code (e.g. "invalid_request"), or null when it gave none.</summary>
    public string? ServiceErrorCode { get; }

    /// <summary>
    /// For a ClaimsChallenge error (continuous access evaluation): the claims the service asks
    /// for, as JSON, which <c>Get-AzMiToken -Claims</c> takes; null otherwise.
    /// </summary>
    public string? Claims { get; }

    internal AzMiStatus StatusCode { get; }

    /// <summary>An argument error found before azmi is called (azmi's own name for it).</summary>
    internal static AzMiException InvalidArgument(string message) =>
        new AzMiException(AzMiStatus.InvalidArgument, nameof(AzMiStatus.InvalidArgument), message, 0, null);
}
