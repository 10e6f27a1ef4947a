// The one table of azmi's statuses. Everything else is generated from it:
// - `ErrorCode` (src/error.rs): every row but `Ok`, with its name and description;
// - `azmi_status`, its conversion from `ErrorCode` and `azmi_status_name` (src/ffi/status.rs);
// - the `enum azmi_status` of include/azmi.h: build.rs includes this file and hands cbindgen
//   the enum written out, since cbindgen does not expand macros.
// The C# copies (powershell/src/Native/AzMiStatus.cs, tests/dotnet/…/Native/AzMiStatus.cs)
// are checked against the header by tests/header.rs.
//
// A row: `Name = number, C_NAME, "description";`. The numbers are part of the C ABI: never
// renumber or reuse one; add new statuses at the end with the next number. This file has no
// inner doc comment (`//!`) because build.rs `include!`s it.

/// Calls the macro `$with` with the whole table.
macro_rules! status_table {
    ($with:ident) => {
        $with! {
            Ok = 0, AZMI_OK,
                "Success; outputs were written.";
            InvalidArgument = 1, AZMI_INVALID_ARGUMENT,
                "An argument was NULL, not UTF-8, malformed or contradictory.";
            Cancelled = 2, AZMI_CANCELLED,
                "The call was cancelled through its `azmi_cancel`.";
            ManagedIdentityUnavailable = 3, AZMI_MANAGED_IDENTITY_UNAVAILABLE,
                "No managed identity endpoint answered: not on Azure, or the endpoint is unreachable.";
            IdentityNotFound = 4, AZMI_IDENTITY_NOT_FOUND,
                "The requested identity is not assigned to this machine.";
            InvalidResource = 5, AZMI_INVALID_RESOURCE,
                "Entra ID does not know the requested resource (AADSTS50001).";
            AuthenticationFailed = 6, AZMI_AUTHENTICATION_FAILED,
                "A service rejected the token (HTTP 401).";
            PermissionDenied = 7, AZMI_PERMISSION_DENIED,
                "The identity lacks permission (HTTP 403).";
            NotFound = 8, AZMI_NOT_FOUND,
                "The item does not exist (HTTP 404).";
            Conflict = 9, AZMI_CONFLICT,
                "The item exists already or changed meanwhile.";
            Throttled = 10, AZMI_THROTTLED,
                "The service kept throttling after the retries.";
            Timeout = 11, AZMI_TIMEOUT,
                "The operation ran out of time.";
            ServiceError = 12, AZMI_SERVICE_ERROR,
                "Any other error answered by a service (see the HTTP status and service code).";
            ProtocolError = 13, AZMI_PROTOCOL_ERROR,
                "A response did not have the expected form.";
            NetworkError = 14, AZMI_NETWORK_ERROR,
                "A connection failed.";
            IoError = 15, AZMI_IO_ERROR,
                "A local file could not be read or written.";
            InsecureRequest = 16, AZMI_INSECURE_REQUEST,
                "azmi refused to send a token somewhere unsafe.";
            RuntimeError = 17, AZMI_RUNTIME_ERROR,
                "The call cannot run here (from inside azmi's runtime, e.g. a callback).";
            InternalError = 18, AZMI_INTERNAL_ERROR,
                "A bug in azmi (a caught panic). Please report it.";
            ClaimsChallenge = 19, AZMI_CLAIMS_CHALLENGE,
                "A service refused the token with a claims challenge again after azmi answered it once (continuous access evaluation); the error carries the claims.";
            ProxyError = 20, AZMI_PROXY_ERROR,
                "The proxy asked for credentials (HTTP 407), refused the request, or could not be reached.";
        }
    };
}

/// The documentation of `azmi_status` (a macro, so that `#[doc = …]` can take it).
macro_rules! status_doc {
    () => {
        "The result of every fallible call. The numbers are stable."
    };
}
