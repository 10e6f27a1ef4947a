namespace AzMi.Native;

/// <summary><c>enum azmi_status</c> of include/azmi.h; the numbers are stable.</summary>
internal enum AzMiStatus : uint
{
    Ok = 0,
    InvalidArgument = 1,
    Cancelled = 2,
    ManagedIdentityUnavailable = 3,
    IdentityNotFound = 4,
    InvalidResource = 5,
    AuthenticationFailed = 6,
    PermissionDenied = 7,
    NotFound = 8,
    Conflict = 9,
    Throttled = 10,
    Timeout = 11,
    ServiceError = 12,
    ProtocolError = 13,
    NetworkError = 14,
    IoError = 15,
    InsecureRequest = 16,
    RuntimeError = 17,
    InternalError = 18,
    ClaimsChallenge = 19,
    ProxyError = 20,
}
