//! The C ABI: a thin translation layer over the core, and the only place with `extern "C"` and
//! raw pointers. The conventions, for every function:
//!
//! - Fallible functions return an `azmi_status` (`AZMI_OK` is 0) and write their outputs only on
//!   success. On failure, when `err_out` is not NULL, `*err_out` receives a new `azmi_error`
//!   (free it with `azmi_error_free`). There is no process-global "last error".
//! - String arguments are NUL-terminated UTF-8. NULL where a string is required, or invalid
//!   UTF-8, is `AZMI_INVALID_ARGUMENT`.
//! - Objects and strings the library returns are owned by the caller and freed with the
//!   matching `_free` function; strings lent by an accessor live as long as their object.
//! - Every function may be called from any thread; objects are immutable once built, except
//!   for `azmi_identity` setters, which must not run while the identity is in use.
//! - Blocking functions block the calling thread on azmi's runtime. Called from inside that
//!   runtime (e.g. from a callback) they fail with `AZMI_RUNTIME_ERROR` instead of stalling.
//! - No panic crosses the boundary: one is reported as `AZMI_INTERNAL_ERROR`.

#![allow(non_camel_case_types)]
// Every function states its pointer contract in its own words ("NULL or an object from this
// library", …); a `# Safety` heading on each would only repeat it in the header.
#![allow(clippy::missing_safety_doc)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, CStr};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::error::{Error, ErrorCode, Result};
use crate::identity::ManagedIdentity;
use crate::runtime::{engine, ensure_blocking_allowed, Engine};

mod adls;
mod arm;
mod blob;
mod cancel;
mod error;
mod identity;
mod keyvault;
mod token;

pub use adls::*;
pub use arm::*;
pub use blob::*;
pub use cancel::*;
pub use error::*;
pub use identity::*;
pub use keyvault::*;
pub use token::*;

/// The result of every fallible call. The numbers are stable.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum azmi_status {
    /// Success; outputs were written.
    AZMI_OK = 0,
    /// An argument was NULL, not UTF-8, malformed or contradictory.
    AZMI_INVALID_ARGUMENT = 1,
    /// The call was cancelled through its `azmi_cancel`.
    AZMI_CANCELLED = 2,
    /// No managed identity endpoint answered: not on Azure, or the endpoint is unreachable.
    AZMI_MANAGED_IDENTITY_UNAVAILABLE = 3,
    /// The requested identity is not assigned to this machine.
    AZMI_IDENTITY_NOT_FOUND = 4,
    /// Entra ID does not know the requested resource (AADSTS50001).
    AZMI_INVALID_RESOURCE = 5,
    /// A service rejected the token (HTTP 401).
    AZMI_AUTHENTICATION_FAILED = 6,
    /// The identity lacks permission (HTTP 403).
    AZMI_PERMISSION_DENIED = 7,
    /// The item does not exist (HTTP 404).
    AZMI_NOT_FOUND = 8,
    /// The item exists already or changed meanwhile.
    AZMI_CONFLICT = 9,
    /// The service kept throttling after the retries.
    AZMI_THROTTLED = 10,
    /// The operation ran out of time.
    AZMI_TIMEOUT = 11,
    /// Any other error answered by a service (see the HTTP status and service code).
    AZMI_SERVICE_ERROR = 12,
    /// A response did not have the expected form.
    AZMI_PROTOCOL_ERROR = 13,
    /// A connection failed.
    AZMI_NETWORK_ERROR = 14,
    /// A local file could not be read or written.
    AZMI_IO_ERROR = 15,
    /// azmi refused to send a token somewhere unsafe.
    AZMI_INSECURE_REQUEST = 16,
    /// The call cannot run here (from inside azmi's runtime, e.g. a callback).
    AZMI_RUNTIME_ERROR = 17,
    /// A bug in azmi (a caught panic). Please report it.
    AZMI_INTERNAL_ERROR = 18,
}

impl From<ErrorCode> for azmi_status {
    fn from(code: ErrorCode) -> azmi_status {
        use azmi_status::*;
        match code {
            ErrorCode::InvalidArgument => AZMI_INVALID_ARGUMENT,
            ErrorCode::Cancelled => AZMI_CANCELLED,
            ErrorCode::ManagedIdentityUnavailable => AZMI_MANAGED_IDENTITY_UNAVAILABLE,
            ErrorCode::IdentityNotFound => AZMI_IDENTITY_NOT_FOUND,
            ErrorCode::InvalidResource => AZMI_INVALID_RESOURCE,
            ErrorCode::AuthenticationFailed => AZMI_AUTHENTICATION_FAILED,
            ErrorCode::PermissionDenied => AZMI_PERMISSION_DENIED,
            ErrorCode::NotFound => AZMI_NOT_FOUND,
            ErrorCode::Conflict => AZMI_CONFLICT,
            ErrorCode::Throttled => AZMI_THROTTLED,
            ErrorCode::Timeout => AZMI_TIMEOUT,
            ErrorCode::ServiceError => AZMI_SERVICE_ERROR,
            ErrorCode::ProtocolError => AZMI_PROTOCOL_ERROR,
            ErrorCode::NetworkError => AZMI_NETWORK_ERROR,
            ErrorCode::IoError => AZMI_IO_ERROR,
            ErrorCode::InsecureRequest => AZMI_INSECURE_REQUEST,
            ErrorCode::RuntimeError => AZMI_RUNTIME_ERROR,
            ErrorCode::InternalError => AZMI_INTERNAL_ERROR,
        }
    }
}

/// Progress of a long call: `done` bytes (or items) so far of `total` (-1 when unknown).
/// Called on the thread that made the call, while the call runs (so a PowerShell cmdlet may
/// write progress from it). It must return quickly and must not call blocking azmi functions:
/// they fail with `AZMI_RUNTIME_ERROR` there.
pub type azmi_progress_callback =
    Option<unsafe extern "C" fn(userdata: *mut std::ffi::c_void, done: u64, total: i64)>;

/// Runs `f` behind the panic boundary and turns its result into a status and an error object.
pub(crate) fn guard(err_out: *mut *mut azmi_error, f: impl FnOnce() -> Result<()>) -> azmi_status {
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Internal(what))
    });
    match result {
        Ok(()) => azmi_status::AZMI_OK,
        Err(e) => {
            let status = azmi_status::from(e.code());
            if !err_out.is_null() {
                // SAFETY: the caller passes a writable `azmi_error*` slot or NULL (checked).
                unsafe { *err_out = azmi_error::boxed(&e) };
            }
            status
        }
    }
}

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::InvalidArgument(format!("{name} is not valid UTF-8")))
}

/// An optional string argument: NULL means "not given".
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(p, name) }.map(Some)
    }
}

/// Checks an out-pointer before any work is done.
pub(crate) fn out_arg<T>(p: *mut *mut T, name: &str) -> Result<()> {
    if p.is_null() {
        Err(Error::InvalidArgument(format!("{name} is NULL")))
    } else {
        Ok(())
    }
}

/// Runs one operation on the engine, on the calling thread (so that callbacks run there),
/// cancellable through `cancel`: `client` builds the service client from the engine, `op`
/// uses it.
pub(crate) fn run_with<C, T, Fut>(
    cancel: *const azmi_cancel,
    client: impl FnOnce(&Engine) -> Result<C>,
    op: impl FnOnce(C) -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    ensure_blocking_allowed()?;
    let engine = engine()?;
    let client = client(&engine)?;
    // SAFETY: NULL or a live handle from azmi_cancel_new (contract of every function).
    let cancel = unsafe { cancel.as_ref() };
    engine.block_on(op(client), cancel.map(azmi_cancel::token))?
}

/// The identity a call names, or (NULL) the engine's default: the system-assigned identity at
/// the endpoint the environment names now.
pub(crate) fn identity_or_default(
    engine: &Engine,
    identity: *const azmi_identity,
) -> Result<Arc<ManagedIdentity>> {
    // SAFETY: NULL or a live identity from azmi_identity_new (contract of every function).
    match unsafe { identity.as_ref() } {
        Some(i) => Ok(Arc::clone(&i.mi)),
        None => engine.default_identity(),
    }
}

/// Checks `flags` (only `bit`, named `name`, is allowed) and says whether `bit` is set.
pub(crate) fn flag(flags: u32, bit: u32, name: &str) -> Result<bool> {
    if flags & !bit != 0 {
        return Err(Error::InvalidArgument(format!(
            "flags {flags:#x} has bits this call does not take; use 0 or {name}"
        )));
    }
    Ok(flags & bit != 0)
}

/// The library's version, e.g. "0.1.0". Static: do not free.
#[no_mangle]
pub extern "C" fn azmi_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A stable name for a status, e.g. "IdentityNotFound" for `AZMI_IDENTITY_NOT_FOUND`, "Ok" for
/// `AZMI_OK`, "Unknown" for numbers azmi does not define. Static: do not free.
#[no_mangle]
pub extern "C" fn azmi_status_name(status: u32) -> *const c_char {
    let name: &'static CStr = match status {
        0 => c"Ok",
        1 => c"InvalidArgument",
        2 => c"Cancelled",
        3 => c"ManagedIdentityUnavailable",
        4 => c"IdentityNotFound",
        5 => c"InvalidResource",
        6 => c"AuthenticationFailed",
        7 => c"PermissionDenied",
        8 => c"NotFound",
        9 => c"Conflict",
        10 => c"Throttled",
        11 => c"Timeout",
        12 => c"ServiceError",
        13 => c"ProtocolError",
        14 => c"NetworkError",
        15 => c"IoError",
        16 => c"InsecureRequest",
        17 => c"RuntimeError",
        18 => c"InternalError",
        _ => c"Unknown",
    };
    name.as_ptr()
}

/// Trusts the CA certificates in the PEM file `pem_path` besides the public roots for every
/// later HTTPS request of this process (NULL: the public roots only). By default azmi reads the
/// file named by the environment variable `AZMI_CA_FILE` when it starts; this overrides it, and
/// is how hosts whose runtime keeps its own environment (.NET on Linux) pass it on. A file that
/// cannot be read or holds no certificate is `AZMI_INVALID_ARGUMENT` and changes nothing.
#[no_mangle]
pub unsafe extern "C" fn azmi_set_ca_file(
    pem_path: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let path = unsafe { opt_str_arg(pem_path, "pem_path")? };
        crate::runtime::set_ca_file(path.map(Into::into))
    })
}

/// Stops azmi's runtime and wipes every cached token, so that a host can unload the library.
/// Calls still running on other threads are cancelled (they return `AZMI_CANCELLED`) and have
/// returned when this returns; a later call starts azmi again. Fails with `AZMI_RUNTIME_ERROR`
/// when called from inside azmi's runtime (a callback), or when a call has not returned after
/// 10 s (then do not unload the library).
#[no_mangle]
pub unsafe extern "C" fn azmi_shutdown(err_out: *mut *mut azmi_error) -> azmi_status {
    guard(err_out, crate::runtime::shutdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_match_error_code_names() {
        let codes = [
            ErrorCode::InvalidArgument,
            ErrorCode::Cancelled,
            ErrorCode::ManagedIdentityUnavailable,
            ErrorCode::IdentityNotFound,
            ErrorCode::InvalidResource,
            ErrorCode::AuthenticationFailed,
            ErrorCode::PermissionDenied,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::Throttled,
            ErrorCode::Timeout,
            ErrorCode::ServiceError,
            ErrorCode::ProtocolError,
            ErrorCode::NetworkError,
            ErrorCode::IoError,
            ErrorCode::InsecureRequest,
            ErrorCode::RuntimeError,
            ErrorCode::InternalError,
        ];
        for code in codes {
            let status = azmi_status::from(code) as u32;
            assert_eq!(status, code as u32, "numbers agree for {code}");
            // SAFETY: azmi_status_name returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(azmi_status_name(status)) };
            assert_eq!(name.to_str().unwrap(), code.name());
        }
    }

    #[test]
    fn panics_become_internal_errors() {
        let mut err: *mut azmi_error = std::ptr::null_mut();
        let status = guard(&mut err, || panic!("boom"));
        assert_eq!(status, azmi_status::AZMI_INTERNAL_ERROR);
        assert!(!err.is_null());
        // SAFETY: err was just created by guard.
        unsafe {
            let msg = CStr::from_ptr(azmi_error_message(err));
            assert!(msg.to_str().unwrap().contains("boom"));
            azmi_error_free(err);
        }
    }
}
