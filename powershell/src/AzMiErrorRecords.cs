using System.Management.Automation;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// ErrorRecords for azmi's errors: ErrorId <c>AzMi.&lt;status name&gt;</c> (so that
/// FullyQualifiedErrorId is e.g. <c>AzMi.IdentityNotFound,AzMi.Commands.GetAzMiTokenCommand</c>),
/// azmi's message, and the ErrorCategory a PowerShell user would expect.
/// </summary>
internal static class AzMiErrorRecords
{
    internal static ErrorRecord From(AzMiException error, object? target) =>
        new ErrorRecord(error, "AzMi." + error.Status, CategoryOf(error.StatusCode), target);

    /// <summary>
    /// Errors in the arguments themselves fail the same way for every input, so they end the
    /// command (ThrowTerminatingError); everything else is per input (WriteError), and
    /// -ErrorAction Stop turns it into a terminating error as usual.
    /// </summary>
    internal static bool IsTerminating(AzMiException error) => error.StatusCode == AzMiStatus.InvalidArgument;

    /// <summary>What to do about an error every cmdlet may meet, when there is something to say.</summary>
    internal static string? Advice(AzMiException error) => error.StatusCode == AzMiStatus.ClaimsChallenge
        ? "The service refused the token azmi got with the claims of its challenge too: the identity's access may have been revoked, or a policy (such as a network location) refuses it. Check the identity's role assignments and the resource's policies; the claims are in the error's Exception.Claims (Get-AzMiToken -Claims takes them)."
        : null;

    private static ErrorCategory CategoryOf(AzMiStatus status) => status switch
    {
        AzMiStatus.InvalidArgument => ErrorCategory.InvalidArgument,
        AzMiStatus.Cancelled => ErrorCategory.OperationStopped,
        AzMiStatus.ManagedIdentityUnavailable => ErrorCategory.ConnectionError,
        AzMiStatus.IdentityNotFound => ErrorCategory.ObjectNotFound,
        AzMiStatus.InvalidResource => ErrorCategory.InvalidArgument,
        AzMiStatus.AuthenticationFailed => ErrorCategory.AuthenticationError,
        AzMiStatus.ClaimsChallenge => ErrorCategory.AuthenticationError,
        AzMiStatus.PermissionDenied => ErrorCategory.PermissionDenied,
        AzMiStatus.NotFound => ErrorCategory.ObjectNotFound,
        AzMiStatus.Conflict => ErrorCategory.ResourceExists,
        AzMiStatus.Throttled => ErrorCategory.LimitsExceeded,
        AzMiStatus.Timeout => ErrorCategory.OperationTimeout,
        AzMiStatus.ServiceError => ErrorCategory.InvalidResult,
        AzMiStatus.ProtocolError => ErrorCategory.InvalidData,
        AzMiStatus.NetworkError => ErrorCategory.ConnectionError,
        AzMiStatus.IoError => ErrorCategory.WriteError,
        AzMiStatus.InsecureRequest => ErrorCategory.SecurityError,
        AzMiStatus.RuntimeError => ErrorCategory.InvalidOperation,
        AzMiStatus.ProxyError => ErrorCategory.ConnectionError,
        _ => ErrorCategory.NotSpecified, // InternalError, and statuses newer than this module
    };
}
